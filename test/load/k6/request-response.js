// @ts-check
/**
 * k6: the "request-response" scenario of ../scenarios.json (?wait=processed: the answer waits for the worker).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=... test/load/k6/request-response.js
 *
 * RATE, DURATION, MAX_WORKERS and SUMMARY as in intake.js.
 */
import { httpScript } from './intake.js';

const script = httpScript('request-response');
export const options = script.options;
export const handleSummary = script.handleSummary;
export default script.iteration;
