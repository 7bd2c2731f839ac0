/** Progress display: a cli-progress bar on a TTY, one plain line per task otherwise (CI logs). */
import cliProgress from 'cli-progress';

/** What the progress display shows for the task that is about to run. */
export interface ProgressState {
  scenario: string;
  client: string;
  rep: number;
  reps: number;
}

/** Progress over all tasks of a run; `log` prints above the bar without tearing it. */
export interface Progress {
  start(total: number): void;
  update(state: ProgressState): void;
  /** Marks one task done. */
  tick(): void;
  log(line: string): void;
  stop(): void;
}

/** Creates the progress display on stderr, so stdout carries only the tables. */
export function createProgress(): Progress {
  const tty = Boolean(process.stderr.isTTY);
  if (!tty) {
    let done = 0;
    let total = 0;
    const t0 = Date.now();
    return {
      start(t) {
        total = t;
      },
      update(s) {
        const at = ((Date.now() - t0) / 1000).toFixed(1);
        process.stderr.write(`[${done + 1}/${total} ${at}s] ${s.scenario} | ${s.client} | rep ${s.rep}/${s.reps}\n`);
      },
      tick() {
        done++;
      },
      log(line) {
        process.stderr.write(`${line}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {value}/{total} | {scenario} | {client} | rep {rep}/{reps}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let payload: ProgressState = { scenario: '', client: '', rep: 0, reps: 0 };
  return {
    start(total) {
      bar.start(total, 0, payload);
    },
    update(s) {
      payload = s;
      bar.update(payload);
    },
    tick() {
      bar.increment(1, payload);
    },
    log(line) {
      // cli-progress redraws on the next update; clear the line first so the text stands alone.
      process.stderr.write(`\r\x1b[K${line}\n`);
      bar.render();
    },
    stop() {
      bar.stop();
    },
  };
}
