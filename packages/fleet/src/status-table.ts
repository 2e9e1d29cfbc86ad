/**
 * `vc-fleet status` for people: the pool in one line, a table of members (state, computation,
 * attested when, uptime) and one of computations, then the last events. `--json` prints the
 * status itself instead.
 */
import type { FleetStatus } from './status.ts';

/** Seconds, minutes or hours, whichever reads best. */
export function formatDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

/** Columns padded to their widest cell; the last is not padded. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n');
}

/** The status as tables, at time `now`; `events`: how many of the last events to show. */
export function formatStatus(status: FleetStatus, now: Date, events = 5): string {
  const lines: string[] = [];
  lines.push(`fleet (${status.backend}), PAS ${status.pas.url}: pool ${status.pool.warm} warm of ${status.pool.target}${status.pool.starting === 0 ? '' : `, ${status.pool.starting} starting`}`);
  lines.push('');
  if (status.members.length === 0) lines.push('no members');
  else {
    lines.push(table([
      ['MEMBER', 'STATE', 'COMPUTATION', 'ADDRESS', 'ATTESTED', 'UPTIME'],
      ...status.members.map((member) => [
        member.name,
        member.state,
        member.computation === undefined ? '-' : `${member.computation}/${member.isolate}`,
        member.address ?? '-',
        member.attestedAt ?? '-',
        formatDuration(now.getTime() - Date.parse(member.startedAt)),
      ]),
    ]));
  }
  lines.push('');
  if (status.computations.length === 0) lines.push('no computations');
  else {
    lines.push(table([
      ['COMPUTATION', 'STATE', 'ISOLATES', 'READY IN', 'REASON'],
      ...status.computations.map((computation) => [
        computation.id,
        computation.state,
        computation.isolates.map((isolate) => (isolate.address === undefined ? isolate.name : `${isolate.name}@${isolate.address}`)).join(','),
        computation.readyAt === undefined ? '-' : `${Date.parse(computation.readyAt) - Date.parse(computation.submittedAt)} ms`,
        computation.reason ?? '',
      ]),
    ]));
  }
  const recent = status.events.slice(-events);
  if (recent.length > 0) {
    lines.push('');
    lines.push('recent events:');
    for (const event of recent) lines.push(`  ${event.at} ${event.message}`);
  }
  return `${lines.join('\n')}\n`;
}
