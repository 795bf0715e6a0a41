import { metricValue } from '../../../services/cli/fleet/probe';

const text = [
  '# HELP intake_worker_outbound_log_entries Entries in the outbound log',
  '# TYPE intake_worker_outbound_log_entries gauge',
  'intake_worker_outbound_log_entries 12',
  'intake_worker_lag{partition="0"} 3',
].join('\n');

describe('metricValue', () => {
  it('reads an unlabelled value, and the first line of a labelled one', () => {
    expect(metricValue(text, 'intake_worker_outbound_log_entries')).toBe(12);
    expect(metricValue(text, 'intake_worker_lag')).toBe(3);
  });

  it('gives 0 for a metric the answer lacks, or what the caller says a missing one is', () => {
    expect(metricValue(text, 'intake_worker_outbound_log_bytes')).toBe(0);
    expect(metricValue(text, 'intake_worker_outbound_log_bytes', NaN)).toBeNaN();
    expect(metricValue(text, 'intake_worker_outbound_log_entries', NaN)).toBe(12);
  });
});
