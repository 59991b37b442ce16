import { useState } from 'preact/hooks';
import type { UserError } from '../api.ts';
import { useMutation, useQuery } from '../hooks.ts';
import { Badge, Button, Card, Empty, Errors, Field, fmtTime, Loading, PageTitle, Secret } from '../ui.tsx';

export function ApiKeys() {
  const q = useQuery(`query ApiKeys { apiKeys { id name role productKeys tokenPrefix createdAt revokedAt } }`);
  const create = useMutation(
    `mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id name } token userErrors { code message field } } }`,
  );
  const revoke = useMutation(
    `mutation RevokeApiKey($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } userErrors { code message } } }`,
  );
  const [f, setF] = useState({ name: '', role: 'VIEWER', productKeys: '' });
  const [errors, setErrors] = useState<UserError[]>([]);
  const [token, setToken] = useState<{ name: string; token: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const productKeys = f.productKeys.split(/[\s,]+/).filter(Boolean);
    const r = await create.run({
      input: { name: f.name, role: f.role, productKeys: productKeys.length ? productKeys : null },
    });
    if (!r) return;
    setErrors(r.createApiKey.userErrors);
    if (!r.createApiKey.userErrors.length) {
      setToken({ name: r.createApiKey.apiKey.name, token: r.createApiKey.token });
      setF({ name: '', role: 'VIEWER', productKeys: '' });
      q.reload();
    }
  };
  const keys = q.data?.apiKeys ?? [];
  return (
    <div>
      <PageTitle sub="Tokens for applications and people (ADMIN only)">API keys</PageTitle>
      <Errors errors={[q.error, revoke.error].filter(Boolean) as string[]} />
      <Card title="Create an API key">
        <form onSubmit={submit}>
          <div class="form-row">
            <Field label="Name">
              <input
                name="keyName"
                value={f.name}
                onInput={(e) => setF({ ...f, name: e.currentTarget.value })}
                required
              />
            </Field>
            <Field label="Role">
              <select value={f.role} onChange={(e) => setF({ ...f, role: e.currentTarget.value })}>
                <option>VIEWER</option>
                <option>OPERATOR</option>
                <option>ADMIN</option>
              </select>
            </Field>
            <Field label="Limit to products" hint="Product keys, comma separated; empty: all">
              <input value={f.productKeys} onInput={(e) => setF({ ...f, productKeys: e.currentTarget.value })} />
            </Field>
          </div>
          <Button kind="primary" type="submit" busy={create.busy}>
            Create key
          </Button>
          <Errors errors={[...errors, ...(create.error ? [create.error] : [])]} />
        </form>
        {token && <Secret label={`Token of ${token.name}`} value={token.token} testid="api-token" />}
      </Card>
      <Card>
        {!q.data ? (
          <Loading />
        ) : keys.length === 0 ? (
          <Empty>No API keys.</Empty>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Products</th>
                <th>Token prefix</th>
                <th>Created</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.map((k: any) => (
                <tr>
                  <td>{k.name}</td>
                  <td>{k.role}</td>
                  <td class="mono">{k.productKeys?.join(', ') ?? 'all'}</td>
                  <td class="mono">{k.tokenPrefix}…</td>
                  <td>{fmtTime(k.createdAt)}</td>
                  <td>{k.revokedAt ? <Badge value="REVOKED" /> : <Badge value="ACTIVE" />}</td>
                  <td>
                    {!k.revokedAt && (
                      <Button
                        class="small"
                        kind="danger"
                        onClick={async () =>
                          confirm(`Revoke ${k.name}? Its open connections are closed.`) &&
                          (await revoke.run({ input: { id: k.id } }), q.reload())
                        }
                      >
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
