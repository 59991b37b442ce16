import { useEffect, useState } from 'preact/hooks';
import { gql, type UserError } from '../api.ts';
import { useMutation, useQuery } from '../hooks.ts';
import { Badge, Button, Card, Empty, Errors, Field, fmtTime, Json, Loading, PageTitle } from '../ui.tsx';

const RULES = `query Rules { rules { id name description sql status createdAt lastError lastErrorAt actions { type configuration errorAction } stats { matched delivered failed deadLettered } } }`;

interface Rule {
  id: string;
  name: string;
  description: string | null;
  sql: string;
  status: string;
  lastError: string | null;
  lastErrorAt: string | null;
  actions: { type: string; configuration: unknown; errorAction: boolean }[];
  stats: { matched: number; delivered: number; failed: number; deadLettered: number };
}

const EXAMPLE_SQL = `SELECT deviceName() AS device, items.Brightness.value AS brightness
FROM "/+/+/thing/event/property/post"
WHERE items.Brightness.value > 50`;
const EXAMPLE_ACTIONS = JSON.stringify(
  [{ type: 'REPUBLISH', configuration: { topic: '/${productKey}/${deviceName}/user/get' } }],
  null,
  2,
);

function RuleEditor({ rule, onSaved, onCancel }: { rule: Rule | null; onSaved: () => void; onCancel: () => void }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [sql, setSql] = useState(rule?.sql ?? EXAMPLE_SQL);
  const [actions, setActions] = useState(rule ? JSON.stringify(rule.actions, null, 2) : EXAMPLE_ACTIONS);
  const [errors, setErrors] = useState<(UserError | string)[]>([]);
  const [topic, setTopic] = useState('/a1test/lamp-1/thing/event/property/post');
  const [payload, setPayload] = useState('{"items":{"Brightness":{"value":80,"time":1700000000000}}}');
  const [test, setTest] = useState<{ matched: boolean; output: unknown; userErrors: UserError[] } | null>(null);
  const [testError, setTestError] = useState<string | null>(null);
  const save = useMutation(
    rule
      ? `mutation UpdateRule($input: UpdateRuleInput!) { updateRule(input: $input) { rule { id } userErrors { code message field } } }`
      : `mutation CreateRule($input: CreateRuleInput!) { createRule(input: $input) { rule { id } userErrors { code message field } } }`,
  );
  const submit = async (e: Event) => {
    e.preventDefault();
    let acts: unknown;
    try {
      acts = JSON.parse(actions);
    } catch {
      return setErrors(['actions: must be a JSON array of { type, configuration, errorAction }']);
    }
    const input = rule ? { id: rule.id, name, sql, actions: acts } : { name, sql, actions: acts };
    const r = await save.run({ input });
    if (!r) return;
    const p = r.updateRule ?? r.createRule;
    setErrors(p.userErrors);
    if (!p.userErrors.length) onSaved();
  };
  const runTest = async () => {
    setTestError(null);
    setTest(null);
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      return setTestError('payload must be JSON');
    }
    try {
      const r = await gql(
        `query TestRule($sql: String!, $topic: String!, $payload: JSON!) { testRule(sql: $sql, topic: $topic, payload: $payload) { matched output userErrors { code message field } } }`,
        { sql, topic, payload: json },
      );
      setTest(r.testRule);
    } catch (e) {
      setTestError((e as Error).message);
    }
  };
  return (
    <div class="grid-2">
      <Card title={rule ? `Edit rule ${rule.name}` : 'New rule'} testid="rule-editor">
        <form onSubmit={submit}>
          <Field label="Name">
            <input name="ruleName" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          </Field>
          <Field label="SQL" hint={'SELECT … FROM "<topic filter>" WHERE …'}>
            <textarea
              class="sql"
              name="sql"
              rows={6}
              value={sql}
              onInput={(e) => setSql(e.currentTarget.value)}
              spellcheck={false}
            />
          </Field>
          <Field
            label="Actions (JSON)"
            hint="REPUBLISH { topic } · WEBHOOK { url, headers?, bodyTemplate? } · AMQP { url, exchange?, routingKey }"
          >
            <textarea
              name="actions"
              rows={6}
              value={actions}
              onInput={(e) => setActions(e.currentTarget.value)}
              spellcheck={false}
            />
          </Field>
          <Errors errors={[...errors, ...(save.error ? [save.error] : [])]} testid="rule-errors" />
          <div class="actions">
            <Button kind="primary" type="submit" busy={save.busy}>
              {rule ? 'Save rule' : 'Create rule'}
            </Button>
            <Button type="button" onClick={onCancel}>
              Cancel
            </Button>
          </div>
        </form>
      </Card>
      <Card title="Test the SQL" testid="rule-test">
        <p class="muted">
          Messages as the rules engine sees them: the forwarding topic (no /sys prefix) and shape, e.g. a property post
          as {'{'}"items": {'{'}"Id": {'{'}"value", "time"{'}'}
          {'}'}
          {'}'}.
        </p>
        <Field label="Topic of the message">
          <input name="testTopic" value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
        </Field>
        <Field label="Payload (JSON)">
          <textarea
            name="testPayload"
            rows={5}
            value={payload}
            onInput={(e) => setPayload(e.currentTarget.value)}
            spellcheck={false}
          />
        </Field>
        <Button onClick={runTest}>Run test</Button>
        <div class="result" data-testid="rule-test-result">
          {testError && <Errors errors={[testError]} />}
          {test && test.userErrors.length > 0 && <Errors errors={test.userErrors} />}
          {test && !test.userErrors.length && (
            <div class={test.matched ? 'success' : 'notice'}>
              <div>
                <b>{test.matched ? 'Matched' : 'Not matched'}</b>
              </div>
              {test.matched && <Json value={test.output} />}
            </div>
          )}
        </div>
      </Card>
    </div>
  );
}

function DeadLetters({ rule }: { rule: Rule }) {
  const q = useQuery(
    `query DeadLetters($id: ID!) { deadLetters(ruleId: $id, first: 100) { totalCount nodes { id topic error attempts createdAt redrivenAt output actionIndex } } }`,
    { id: rule.id },
    [rule.id],
  );
  const redrive = useMutation(
    `mutation Redrive($input: RedriveDeadLettersInput!) { redriveDeadLetters(input: $input) { redriven failed userErrors { code message } } }`,
  );
  const [msg, setMsg] = useState<string | null>(null);
  const run = async (ids?: string[]) => {
    const r = await redrive.run({ input: { ruleId: rule.id, ...(ids ? { ids } : {}) } });
    if (r) setMsg(`Redriven: ${r.redriveDeadLetters.redriven}, failed: ${r.redriveDeadLetters.failed}`);
    q.reload();
  };
  const list = q.data?.deadLetters.nodes ?? [];
  return (
    <Card
      title={`Dead letters of ${rule.name}`}
      actions={
        <Button onClick={() => run()} busy={redrive.busy} disabled={!list.some((d: any) => !d.redrivenAt)}>
          Redrive all
        </Button>
      }
    >
      {msg && <div class="notice">{msg}</div>}
      <Errors errors={[q.error, redrive.error].filter(Boolean) as string[]} />
      {!q.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>No dead letters.</Empty>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Topic</th>
              <th>Error</th>
              <th>Attempts</th>
              <th>Output</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((d: any) => (
              <tr>
                <td>{fmtTime(d.createdAt)}</td>
                <td class="mono">{d.topic}</td>
                <td>{d.error}</td>
                <td class="num">{d.attempts}</td>
                <td class="mono">{JSON.stringify(d.output).slice(0, 120)}</td>
                <td>
                  {d.redrivenAt ? (
                    <span class="muted">redriven {fmtTime(d.redrivenAt)}</span>
                  ) : (
                    <Button class="small" onClick={() => run([d.id])}>
                      Redrive
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

export function Rules() {
  const q = useQuery<{ rules: Rule[] }>(RULES);
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [letters, setLetters] = useState<Rule | null>(null);
  const [errors, setErrors] = useState<(UserError | string)[]>([]);
  // Counters move while rules run: re-read them every few seconds.
  useEffect(() => {
    const t = setInterval(() => q.reload(), 5000);
    return () => clearInterval(t);
  }, []);
  const act = async (name: 'startRule' | 'stopRule' | 'deleteRule', r: Rule) => {
    if (name === 'deleteRule' && !confirm(`Delete rule ${r.name}?`)) return;
    try {
      const res = await gql(
        `mutation($input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $input) { userErrors { code message } } }`,
        { input: { id: r.id } },
      );
      setErrors(res[name].userErrors);
    } catch (e) {
      setErrors([(e as Error).message]);
    }
    q.reload();
  };
  const rules = q.data?.rules ?? [];
  return (
    <div>
      <PageTitle
        sub="Forward device messages with SQL: republish, webhooks, AMQP"
        actions={
          <Button kind="primary" onClick={() => setEditing('new')}>
            New rule
          </Button>
        }
      >
        Rules
      </PageTitle>
      <Errors errors={[...errors, ...(q.error ? [q.error] : [])]} />
      {editing && (
        <RuleEditor
          rule={editing === 'new' ? null : editing}
          key={editing === 'new' ? 'new' : editing.id}
          onSaved={() => {
            setEditing(null);
            q.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <Card>
        {!q.data ? (
          <Loading />
        ) : rules.length === 0 ? (
          <Empty>No rules yet.</Empty>
        ) : (
          <table class="table" data-testid="rules-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>SQL</th>
                <th>Matched</th>
                <th>Delivered</th>
                <th>Failed</th>
                <th>Dead letters</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr data-rule={r.name}>
                  <td>
                    <b>{r.name}</b>
                    {r.lastError && (
                      <div class="error-text">
                        Last error {fmtTime(r.lastErrorAt)}: {r.lastError}
                      </div>
                    )}
                  </td>
                  <td>
                    <Badge value={r.status} />
                  </td>
                  <td class="mono" style="max-width:360px">
                    {r.sql}
                  </td>
                  <td class="num">{r.stats.matched}</td>
                  <td class="num">{r.stats.delivered}</td>
                  <td class="num">{r.stats.failed}</td>
                  <td class="num">
                    {/* biome-ignore lint/a11y/useValidAnchor: an in-page action styled and focusable as a link */}
                    <a href="#" onClick={(e) => (e.preventDefault(), setLetters(r))}>
                      {r.stats.deadLettered}
                    </a>
                  </td>
                  <td>
                    <span class="actions">
                      {r.status === 'RUNNING' ? (
                        <Button class="small" onClick={() => act('stopRule', r)}>
                          Stop
                        </Button>
                      ) : (
                        <Button class="small" onClick={() => act('startRule', r)}>
                          Start
                        </Button>
                      )}
                      <Button class="small" onClick={() => setEditing(r)}>
                        Edit
                      </Button>
                      <Button class="small" onClick={() => setLetters(r)}>
                        Dead letters
                      </Button>
                      <Button class="small" kind="danger" onClick={() => act('deleteRule', r)}>
                        Delete
                      </Button>
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {letters && <DeadLetters rule={letters} key={letters.id} />}
    </div>
  );
}
