// @ts-check
/**
 * k6: the "stream" scenario of ../scenarios.json (WebSocket /v1/stream, with k6/ws).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=... test/load/k6/stream.js
 *
 * RATE, DURATION, MAX_WORKERS and SUMMARY as in intake.js.
 */
import { streamScript } from './intake.js';

const script = streamScript('stream');
export const options = script.options;
export const handleSummary = script.handleSummary;
export default script.iteration;
