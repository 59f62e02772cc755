/**
 * vitest globalSetup: the machine check runs once before any test file, so a missing broker fails
 * `npm test` within seconds, naming it, instead of after minutes of test timeouts.
 */
import { checkMachine, describeProblems } from './machine.js';

export default async function setup(): Promise<void> {
  const problems = await checkMachine();
  if (problems.length > 0) throw new Error(describeProblems(problems));
}
