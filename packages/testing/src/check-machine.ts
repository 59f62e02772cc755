/** `npm run check`: says in seconds whether this machine can run `npm test`, and what is missing. */
import { checkMachine, describeProblems } from './machine.js';

const problems = await checkMachine();
if (problems.length > 0) {
  console.error(describeProblems(problems));
  process.exitCode = 1;
} else {
  console.log('Redis (noeviction), RabbitMQ, PostgreSQL and Chromium answer: this machine can run npm test.');
}
