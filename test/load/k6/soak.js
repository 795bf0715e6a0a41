// @ts-check
/**
 * k6: the "soak" scenario of ../scenarios.json (request/acknowledge single events at a steady rate for 10 minutes).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=... test/load/k6/soak.js
 *
 * RATE, DURATION, MAX_WORKERS and SUMMARY as in intake.js.
 */
import { httpScript } from './intake.js';

const script = httpScript('soak');
export const options = script.options;
export const handleSummary = script.handleSummary;
export default script.iteration;
