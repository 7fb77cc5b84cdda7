export function findPgBin(): string;
export function freePort(): Promise<number>;
export interface Cluster {
  url: string;
  port: number;
  dir: string;
  /** ends the cluster for good (immediate shutdown) and deletes its files */
  stop(): void;
  /** stops the server, keeping its files (pg_ctl's shutdown mode, 'fast' by default) */
  halt(options?: { mode?: 'smart' | 'fast' | 'immediate' }): Promise<void>;
  /** starts a halted server again on the same port and data directory */
  resume(): Promise<void>;
}
export function startCluster(options?: { fast?: boolean }): Promise<Cluster>;
