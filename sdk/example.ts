// The TypeScript SDK in use: the example of docs/sdk.md. `make sdk` type-checks it against the
// freshly generated client (sdk/tsconfig.json, --strict), so a renamed operation, parameter or
// field breaks the build instead of the docs.
import { client } from '../build/sdk/typescript/client.gen';
import {
  addSprintItems,
  completeSprint,
  createItem,
  createProject,
  createSprint,
  getSprintReport,
  getVelocityChart,
  login,
  moveItem,
  startSprint,
  type Problem,
} from '../build/sdk/typescript';

export async function runSprint(baseUrl: string, email: string, password: string): Promise<void> {
  client.setConfig({ baseUrl });

  // Log in (the OAuth2 password form: the email goes in `username`), then send the token as
  // `Authorization: Bearer ...` on every call that needs it.
  const { data: token, error: loginError } = await login({ body: { username: email, password } });
  if (loginError) throw new Error(`login: ${loginError.status} ${loginError.title}`);
  client.setConfig({ auth: token.access_token });

  // POST takes an Idempotency-Key: a retry with the same key and body replays the first answer.
  const project = await createProject({
    body: { key: 'WEB', name: 'Website relaunch', time_zone: 'Europe/Berlin' },
    headers: { 'Idempotency-Key': crypto.randomUUID() },
    throwOnError: true,
  });
  const key = project.data.key;

  for (const [title, points] of [['Log in', 3], ['Reset a password', 5]] as const) {
    await createItem({ path: { key }, body: { title, points }, throwOnError: true });
  }

  // Rank WEB-2 to the top, only if nobody changed it since we read it: If-Match its ETag.
  const created = await createItem({
    path: { key },
    body: { title: 'Export CSV', points: 2 },
    throwOnError: true,
  });
  const etag = created.response.headers.get('ETag') ?? undefined;
  const moved = await moveItem({
    path: { key, number: created.data.number },
    body: { top: true },
    headers: { 'If-Match': etag },
  });
  if (moved.error?.status === 412) console.log('someone else moved it first');

  const sprint = await createSprint({ path: { key }, body: { goal: 'People can get in' }, throwOnError: true });
  const number = sprint.data.number;
  await addSprintItems({ path: { key, number }, body: { items: [1, 3] }, throwOnError: true });
  await startSprint({ path: { key, number }, throwOnError: true });
  await completeSprint({
    path: { key, number },
    body: { carry_over: 'backlog', goal_outcome: 'partially_met' },
    throwOnError: true,
  });

  // Without throwOnError an answer is { data } or { error }: every error is the typed Problem.
  const { data: report, error } = await getSprintReport({ path: { key, number } });
  if (error) {
    const problem: Problem = error;
    throw new Error(`${problem.status} ${problem.title}: ${problem.detail ?? ''}`);
  }
  console.log(`say/do ${report.say_do}, ${report.scope_change.added.count} added after the start`);

  // Charts are SVG: the client hands them over as a Blob.
  const chart = await getVelocityChart({ path: { key }, throwOnError: true });
  console.log((await chart.data.text()).slice(0, 60));
}
