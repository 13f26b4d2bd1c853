import type { JobProgress, JobView } from '@model-manager/client';
import type { Output } from './context.js';
import { formatBytes, formatDuration, formatError } from './format.js';

/** How often a file's line is printed when stderr is not a terminal (a log, a CI job, a test). */
const PLAIN_INTERVAL_MS = 3000;
/** How often the bars are redrawn on a terminal. */
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

interface Row {
  label: string;
  bytes: number;
  totalBytes: number | null;
  bytesPerSec: number | null;
  state: 'waiting' | 'running' | 'done' | 'failed';
  note: string;
  startedAt: number | undefined;
  lastPrinted: number | undefined;
}

/**
 * One progress line per file on stderr. On a terminal: bars (bytes, speed, ETA) redrawn in place.
 * Elsewhere: a plain line per file when it starts moving, then every few seconds, and one when it
 * ends, so logs stay short and tests can read them.
 */
export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private drawnLines = 0;
  /** Finished rows already written above the live bars. */
  private readonly written = new Set<Row>();
  private lastDraw = Number.NEGATIVE_INFINITY;
  private readonly tty: boolean;

  constructor(private readonly out: Output) {
    this.tty = out.isTTY === true;
  }

  add(jobId: string, label: string): void {
    if (!this.rows.has(jobId)) {
      this.rows.set(jobId, {
        label,
        bytes: 0,
        totalBytes: null,
        bytesPerSec: null,
        state: 'waiting',
        note: '',
        startedAt: undefined,
        lastPrinted: undefined,
      });
    }
  }

  update(progress: JobProgress): void {
    const row = this.rowFor(
      progress.jobId,
      progress.kind && progress.name ? `${progress.kind}/${progress.name}` : `job ${progress.jobId}`,
    );
    if (row.state === 'done' || row.state === 'failed') return;
    row.state = 'running';
    row.startedAt ??= Date.now();
    row.bytes = progress.bytes;
    row.totalBytes = progress.totalBytes;
    if (progress.bytesPerSec !== null) row.bytesPerSec = progress.bytesPerSec;
    const now = Date.now();
    if (this.tty) this.redraw(false);
    else if (row.lastPrinted === undefined || now - row.lastPrinted >= PLAIN_INTERVAL_MS) {
      row.lastPrinted = now;
      this.out.write(`${this.describe(row)}\n`);
    }
  }

  settle(job: JobView): void {
    const row = this.rowFor(job.jobId, `${job.kind}/${job.name}`);
    if (row.state === 'done' || row.state === 'failed') return;
    const seconds = row.startedAt === undefined ? undefined : (Date.now() - row.startedAt) / 1000;
    if (job.status === 'completed') {
      row.state = 'done';
      row.bytes = job.model?.fileSize ?? job.progress.bytes ?? row.bytes;
      row.totalBytes = row.bytes;
      row.note = `done  ${formatBytes(row.bytes)}${seconds === undefined ? '' : ` in ${formatDuration(seconds)}`}`;
    } else {
      row.state = 'failed';
      row.note = `failed  ${formatError(job.error)}`;
    }
    if (this.tty) this.redraw(true);
    else this.out.write(`${row.label}  ${row.note}\n`);
  }

  /** Leaves the bars as they last were, with the cursor below them. */
  finish(): void {
    if (this.tty && this.rows.size > 0) this.redraw(true);
  }

  private rowFor(jobId: string, label: string): Row {
    this.add(jobId, label);
    return this.rows.get(jobId)!;
  }

  /** "lora/x  12.0 MiB / 37.8 MiB  32%  8.1 MiB/s  ETA 3s" (parts unknown so far are left out). */
  private describe(row: Row): string {
    if (row.state === 'done' || row.state === 'failed') return `${row.label}  ${row.note}`;
    if (row.state === 'waiting') return `${row.label}  queued`;
    const parts = [row.label];
    parts.push(row.totalBytes ? `${formatBytes(row.bytes)} / ${formatBytes(row.totalBytes)}` : formatBytes(row.bytes));
    if (row.totalBytes) parts.push(`${Math.floor((100 * row.bytes) / row.totalBytes)}%`);
    if (row.bytesPerSec !== null) {
      parts.push(`${formatBytes(row.bytesPerSec)}/s`);
      if (row.totalBytes && row.bytesPerSec > 0)
        parts.push(`ETA ${formatDuration((row.totalBytes - row.bytes) / row.bytesPerSec)}`);
    }
    return parts.join('  ');
  }

  private bar(row: Row): string {
    const fraction = row.state === 'done' ? 1 : row.totalBytes ? Math.min(1, row.bytes / row.totalBytes) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  }

  private redraw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = now;
    const rows = [...this.rows.values()];
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const labelWidth = Math.min(40, Math.max(...rows.map((r) => r.label.length)));
    const lineOf = (row: Row) => {
      const label =
        row.label.length > labelWidth ? `${row.label.slice(0, labelWidth - 1)}…` : row.label.padEnd(labelWidth);
      const rest =
        row.state === 'running'
          ? this.describe(row).slice(row.label.length + 2)
          : row.state === 'waiting'
            ? 'queued'
            : row.note;
      return `${label} ${this.bar(row)} ${rest}`.slice(0, width);
    };
    // A finished file is written once, above the live bars, and scrolls away like a log line;
    // only the unfinished ones are redrawn, at most as many as fit, so a large batch stays on screen.
    const settled = rows.filter((r) => (r.state === 'done' || r.state === 'failed') && !this.written.has(r));
    const live = rows.filter((r) => r.state === 'running' || r.state === 'waiting');
    live.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running'));
    const maxLive = Math.max(3, (this.out.rows || 24) - 4);
    const lines = live.slice(0, maxLive).map(lineOf);
    if (live.length > maxLive) lines.push(`… ${live.length - maxLive} more`);
    // Back up over the live bars, clear to the end of the screen, write again.
    let text = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\r\x1b[J` : '';
    for (const row of settled) {
      this.written.add(row);
      text += `${lineOf(row)}\n`;
    }
    for (const line of lines) text += `${line}\n`;
    this.drawnLines = lines.length;
    if (text) this.out.write(text);
  }
}
