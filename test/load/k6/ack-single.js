// @ts-check
/**
 * k6: the "ack-single" scenario of ../scenarios.json (request/acknowledge, one event per request: 202 once Kafka acked).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=... test/load/k6/ack-single.js
 *
 * RATE, DURATION, MAX_WORKERS and SUMMARY as in intake.js.
 */
import { httpScript } from './intake.js';

const script = httpScript('ack-single');
export const options = script.options;
export const handleSummary = script.handleSummary;
export default script.iteration;
