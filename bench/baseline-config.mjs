// The baseline's one client and its two APIs (shared by the baseline server and the harness).
export const BASELINE_CLIENT = { client_id: 'bench-baseline', client_secret: 'bench-baseline-plain-text-secret' };
export const BASELINE_APIS = { jwt: 'https://jwt.bench.test', opaque: 'https://opaque.bench.test' };
