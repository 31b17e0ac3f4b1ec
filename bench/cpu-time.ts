// CPU seconds used by a process and its direct children (nginx's worker is a child of its master),
// read from /proc. The bench divides requests by these seconds: on a machine where something
// else steals the proxy's core, req/s drops but requests per CPU-second of the proxy does not.
import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel config. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its closing ")".
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) … utime(14) stime(15); indexes here start at field 3.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

export function cpuSeconds(pid: number): number {
  let ticks = readStat(pid)?.ticks ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat !== null && stat.ppid === pid) ticks += stat.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

/** Whole-machine busy fraction (0..1) over `ms`, from /proc/stat: to warn when the bench is not alone. */
export async function machineBusy(ms: number): Promise<number> {
  const sample = (): { busy: number; total: number } => {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    return { busy: total - idle, total };
  };
  const a = sample();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = sample();
  return b.total === a.total ? 0 : (b.busy - a.busy) / (b.total - a.total);
}
