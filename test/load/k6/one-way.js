// @ts-check
/**
 * k6: the "one-way" scenario of ../scenarios.json (?ack=none: 204 at once, written in the background).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=... test/load/k6/one-way.js
 *
 * RATE, DURATION, MAX_WORKERS and SUMMARY as in intake.js.
 */
import { httpScript } from './intake.js';

const script = httpScript('one-way');
export const options = script.options;
export const handleSummary = script.handleSummary;
export default script.iteration;
