/** All scenarios, in run order. */
import { Scenario } from '../types';
import { consume } from './consume';
import { encodeScenario } from './encode';
import { eventLoop } from './event-loop';
import { jsonScenario } from './json';
import { presenceScenario } from './presence';
import { publish } from './publish';
import { publishConfirm } from './publish-confirm';
import { query } from './query';

/** Every scenario, in the order a full run executes them. */
export const SCENARIOS: readonly Scenario[] = [
  publish,
  publishConfirm,
  query,
  consume,
  eventLoop,
  encodeScenario,
  jsonScenario,
  presenceScenario,
];

/** Looks a scenario up by name. */
export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
