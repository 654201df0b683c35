// End-to-end suites boot whole applications (PGlite takes seconds to start): a wider timeout.
jest.setTimeout(30_000);
