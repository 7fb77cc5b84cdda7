import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { BIN } from './server.ts';

export interface CliResult {
  /** exit code (null if killed by a signal) */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `bin/gatehouse.js` with `args` as a child process, exactly as `npx gatehouse`
 * would, with only `env` (plus PATH and HOME) as its environment. The working directory defaults
 * to the system temp directory, so no `.env` file of the checkout leaks in.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  { timeoutMs = 60_000, cwd = tmpdir(), input }: { timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin?.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and parses its stdout as JSON; fails with the CLI's output if it did not succeed. */
export async function runCliJson<T = Record<string, unknown>>(args: string[], env: Record<string, string>): Promise<T> {
  const result = await runCli(args, env);
  if (result.code !== 0) {
    throw new Error(`gatehouse ${args.join(' ')} exited with ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}
