// Resident memory of a server process and its children (cluster workers), read from /proc.
import { readdirSync, readFileSync } from 'node:fs';

function rssBytes(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pid and every descendant of it (a WORKERS supervisor and its workers). */
export function processTree(root) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {}
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/**
 * Samples the RSS of `pid` and its descendants every `intervalMs` until stopped; `stop()` returns
 * the highest RSS any single process reached (the per-process bar) and the highest total.
 */
export function sampleMemory(pid, intervalMs = 200) {
  let peakProcess = 0;
  let peakTotal = 0;
  let pids = processTree(pid);
  let ticks = 0;
  const sample = () => {
    if (ticks++ % 10 === 0) pids = processTree(pid); // workers can be replaced
    let total = 0;
    for (const p of pids) {
      const rss = rssBytes(p);
      total += rss;
      if (rss > peakProcess) peakProcess = rss;
    }
    if (total > peakTotal) peakTotal = total;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { peakProcessBytes: peakProcess, peakTotalBytes: peakTotal, processes: pids.length };
    },
  };
}
