/** Command-line options of `npm run bench` / `node dist/bench/run.js`. */

/** Parsed options. */
export interface CliOptions {
  quick: boolean;
  json: string | null;
  svg: string | null;
  only: string[] | null;
  clients: string[] | null;
  repetitions: number | null;
  help: boolean;
}

/** Usage text. */
export const USAGE = `Usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])

  --quick            tiny sizes, 3 interleaved repetitions: proves the harness runs (CI)
  --json FILE        also write machine-readable results to FILE
  --svg DIR          also write one SVG bar chart per scenario into DIR
  --only a,b         run only these scenarios (publish, publish-confirm, query, consume,
                     event-loop, encode, json, presence)
  --clients a,b      measure only these clients (kazoo-amqp, amqplib, amqp-client, ceiling, plain-js)
  --reps N           repetitions per client (default: 5, or 3 with --quick)
  -h, --help         this text

Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), CC (default cc),
PG_URL and MYSQL_URL (presence; default the local test databases).
Exit status: 0 when every selected scenario ran for every client; 1 when something could not
run (broker down, a client threw, a kazoo-amqp feature is missing); 2 on bad usage; 130 when
interrupted (the run's exchanges and queues are deleted first).`;

/** Parses argv (without node and script). Throws an Error with a usage message on bad input. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { quick: false, json: null, svg: null, only: null, clients: null, repetitions: null, help: false };
  const list = (v: string): string[] =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        o.quick = true;
        break;
      case '--json':
        o.json = value();
        break;
      case '--svg':
        o.svg = value();
        break;
      case '--only':
        o.only = list(value());
        break;
      case '--clients':
        o.clients = list(value());
        break;
      case '--reps': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --reps must be a positive integer, got ${n}`);
        o.repetitions = n;
        break;
      }
      case '-h':
      case '--help':
        o.help = true;
        break;
      default:
        throw new Error(`bench: unknown option ${a}`);
    }
  }
  return o;
}
