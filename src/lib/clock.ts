/** Injected time source, so tests can freeze or move time. */
export interface Clock {
  now(): Date;
  /** seconds since the epoch */
  epoch(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  epoch: () => Math.floor(Date.now() / 1000),
};
