export function findPgBin(): string;
export function freePort(): Promise<number>;
export function startCluster(options?: { fast?: boolean }): Promise<{ url: string; port: number; dir: string; stop(): void }>;
