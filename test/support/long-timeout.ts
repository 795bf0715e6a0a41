// Integration and end-to-end tests wait on a real broker and real processes.
jest.setTimeout(300_000);
