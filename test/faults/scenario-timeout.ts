// A fault scenario's own bounds (the fault, the load, the lag back to zero within 180 s, the
// audit) add up to more than the 300 s of the other real-component tests: a scenario that
// recovers slowly fails on its own bound, with what it saw, before jest's.
jest.setTimeout(600_000);
