import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, ProgressBar, type ProgressStream, renderProgress } from './progress.ts';

const MIB = 1024 * 1024;

/** A terminal of `columns` columns that records what is written. */
function fakeTerminal(columns: number | undefined, isTTY = true): ProgressStream & { text: () => string } {
  const parts: string[] = [];
  return {
    isTTY,
    ...(columns === undefined ? {} : { columns }),
    write: (text: string) => parts.push(text),
    text: () => parts.join(''),
  };
}

/** The lines a terminal would show at each `\r`: what each redraw left visible. */
function redraws(text: string): string[] {
  return text.split(/[\r\n]/).filter((segment) => segment !== '');
}

describe('progress bar', () => {
  it('renders label, bar, percent, amount, rate and time left when there is room', () => {
    assert.equal(renderProgress({ label: 'upload /input/x', bytes: 512 * MIB, total: 1024 * MIB, seconds: 2, columns: 100 }),
      `upload /input/x [${'#'.repeat(19)}${'.'.repeat(19)}]  50% 512.0/1024.0 MiB 256.0 MiB/s ETA 0:02`);
    assert.equal(renderProgress({ label: 'download y', bytes: MIB, total: undefined, seconds: 1 }), 'download y 1.0 MiB 1.0 MiB/s');
  });

  it('never reaches the last column, whatever the width, and keeps percent and time left longest', () => {
    const label = 'download /output/a-rather-long-result-name.dat';
    const at = (columns: number): string => renderProgress({ label, bytes: 300 * MIB, total: 1000 * MIB, seconds: 30, columns });
    for (let columns = 1; columns <= 160; columns++) {
      const line = at(columns);
      assert.ok(line.length <= Math.max(1, columns - 1), `${columns} columns: ${JSON.stringify(line)} (${line.length})`);
      if (columns >= 14) assert.match(line, /30%.* ETA 1:10$/, `${columns} columns: ${line}`);
    }
    assert.equal(at(80), 'download /output/a-rather-long-result-name.dat [#####...........]  30% ETA 1:10');
    assert.equal(at(60), '…-long-result-name.dat [######..............]  30% ETA 1:10');
    assert.equal(at(40), '…lt-name.dat [###.......]  30% ETA 1:10');
    assert.equal(at(30), '…lt-name.dat  30% ETA 1:10');
    assert.equal(at(20), '30% ETA 1:10');
    assert.equal(at(8), '30%');
  });

  it('says the time left is unknown before anything has moved', () => {
    assert.match(renderProgress({ label: 'upload x', bytes: 0, total: 10 * MIB, seconds: 0, columns: 80 }), /ETA --:--$/);
    assert.equal(formatDuration(59.6), '1:00');
    assert.equal(formatDuration(3 * 3600 + 62), '3:01:02');
  });

  it('draws within a narrow terminal (60 columns), with an ETA, and leaves a clean line when cleared', () => {
    const terminal = fakeTerminal(60);
    let now = 0;
    const bar = new ProgressBar('download /output/linear-regression-results.dat', terminal, () => now);
    for (let step = 1; step <= 10; step++) {
      now += 150;
      bar.update(step * 10 * MIB, 100 * MIB);
    }
    const drawn = redraws(terminal.text()).filter((segment) => segment.trim() !== '');
    assert.equal(drawn.length, 10);
    for (const line of drawn) {
      assert.ok(line.length <= 59, `wider than 59 columns: ${JSON.stringify(line)}`);
      assert.match(line, /ETA \d+:\d\d/);
    }
    bar.clear();
    const text = terminal.text();
    assert.ok(text.endsWith(`\r${' '.repeat(drawn.at(-1)!.length)}\r`), 'the last line is blanked and the cursor back at its start');
  });

  it('follows a terminal that is resized while it draws', () => {
    const terminal = fakeTerminal(120);
    let now = 0;
    const bar = new ProgressBar('upload /input/x', terminal, () => now);
    bar.update(MIB, 10 * MIB);
    terminal.columns = 30;
    now += 200;
    bar.update(2 * MIB, 10 * MIB);
    const [wide, narrow] = redraws(terminal.text());
    assert.ok(wide!.trimEnd().length > 60);
    assert.ok(narrow!.length <= 29, `${JSON.stringify(narrow)}`);
  });

  it('redraws at most every 100 ms, but always at completion', () => {
    const terminal = fakeTerminal(80);
    let now = 0;
    const bar = new ProgressBar('upload x', terminal, () => now);
    bar.update(1, 100);
    now += 50;
    bar.update(2, 100);
    bar.update(100, 100);
    assert.equal(redraws(terminal.text()).length, 2);
  });

  it('draws nothing at all when the stream is not a terminal', () => {
    const pipe = fakeTerminal(60, false);
    const bar = new ProgressBar('upload x', pipe);
    bar.update(5, 10);
    bar.update(10, 10);
    bar.clear();
    assert.equal(pipe.text(), '');
  });

  it('assumes 80 columns when the terminal does not say', () => {
    const terminal = fakeTerminal(undefined);
    new ProgressBar('upload x', terminal).update(10, 10);
    assert.ok(redraws(terminal.text())[0]!.length <= 79);
  });
});
