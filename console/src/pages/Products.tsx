import { useState } from 'preact/hooks';
import type { UserError } from '../api.ts';
import { useMutation, useQuery } from '../hooks.ts';
import { navigate } from '../router.ts';
import { TslEditor } from './TslEditor.tsx';
import { Button, Card, Empty, Errors, Field, fmtTime, Link, Loading, Modal, PageTitle, Tabs } from '../ui.tsx';

const PRODUCTS = `query Products($after: String) {
  products(first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { productKey name nodeType dataFormat validationMode createdAt total: deviceCount online: deviceCount(state: ONLINE) }
  }
}`;

const CREATE = `mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) { product { productKey } userErrors { code message field } }
}`;

function CreateProduct({ onClose }: { onClose: () => void }) {
  const m = useMutation(CREATE);
  const [errors, setErrors] = useState<UserError[]>([]);
  const [f, setF] = useState({
    name: '',
    productKey: '',
    nodeType: 'DEVICE',
    validationMode: 'WEAK',
    dataFormat: 'ALINK_JSON',
    description: '',
  });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    const input: Record<string, unknown> = {
      name: f.name,
      nodeType: f.nodeType,
      validationMode: f.validationMode,
      dataFormat: f.dataFormat,
    };
    if (f.productKey) input.productKey = f.productKey;
    if (f.description) input.description = f.description;
    const r = await m.run({ input });
    if (!r) return;
    if (r.createProduct.userErrors.length) return setErrors(r.createProduct.userErrors);
    navigate(`/products/${r.createProduct.product.productKey}`);
  };
  const fieldError = (name: string) => errors.find((e) => e.field?.includes(name))?.message;
  return (
    <Modal title="Create product" onClose={onClose}>
      <form onSubmit={submit}>
        <Field label="Name" error={fieldError('name')}>
          <input name="name" value={f.name} onInput={set('name')} required autoFocus />
        </Field>
        <Field label="Product key" hint="Optional: generated when empty." error={fieldError('productKey')}>
          <input name="productKey" value={f.productKey} onInput={set('productKey')} />
        </Field>
        <div class="form-row">
          <Field label="Node type">
            <select name="nodeType" value={f.nodeType} onChange={set('nodeType')}>
              <option>DEVICE</option>
              <option>GATEWAY</option>
            </select>
          </Field>
          <Field label="Data format">
            <select name="dataFormat" value={f.dataFormat} onChange={set('dataFormat')}>
              <option>ALINK_JSON</option>
              <option>CUSTOM</option>
            </select>
          </Field>
          <Field label="Validation">
            <select name="validationMode" value={f.validationMode} onChange={set('validationMode')}>
              <option>WEAK</option>
              <option>STRICT</option>
              <option>NONE</option>
            </select>
          </Field>
        </div>
        <Field label="Description">
          <input name="description" value={f.description} onInput={set('description')} />
        </Field>
        <Errors errors={[...errors.filter((e) => !e.field?.length), ...(m.error ? [m.error] : [])]} />
        <Button kind="primary" type="submit" busy={m.busy}>
          Create
        </Button>
      </form>
    </Modal>
  );
}

export function Products() {
  const q = useQuery(PRODUCTS);
  const [creating, setCreating] = useState(false);
  const list = q.data?.products.nodes ?? [];
  return (
    <div>
      <PageTitle
        sub={q.data ? `${q.data.products.totalCount} products` : ' '}
        actions={
          <Button kind="primary" onClick={() => setCreating(true)}>
            Create product
          </Button>
        }
      >
        Products
      </PageTitle>
      <Errors errors={q.error ? [q.error] : []} />
      <Card>
        {!q.data ? (
          <Loading />
        ) : list.length === 0 ? (
          <Empty>No products yet.</Empty>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Product key</th>
                <th>Node type</th>
                <th>Validation</th>
                <th>Devices (online / total)</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((p: any) => (
                <tr>
                  <td>
                    <Link href={`/products/${p.productKey}`}>{p.name}</Link>
                  </td>
                  <td class="mono">{p.productKey}</td>
                  <td>{p.nodeType}</td>
                  <td>{p.validationMode}</td>
                  <td class="num">
                    <Link href={`/devices?product=${p.productKey}`}>
                      {p.online} / {p.total}
                    </Link>
                  </td>
                  <td>{fmtTime(p.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      {creating && <CreateProduct onClose={() => setCreating(false)} />}
    </div>
  );
}

const PRODUCT = `query Product($pk: String!) {
  product(productKey: $pk) {
    productKey name description nodeType dataFormat validationMode dynamicRegistration createdAt
    total: deviceCount online: deviceCount(state: ONLINE)
    thingModel { tsl }
    topics { id topicShortName topicTemplate operation description }
  }
}`;

function Topics({ productKey, topics, reload }: { productKey: string; topics: any[]; reload: () => void }) {
  const create = useMutation(
    `mutation($input: CreateProductTopicInput!) { createProductTopic(input: $input) { topic { id } userErrors { code message field } } }`,
  );
  const del = useMutation(
    `mutation($input: DeleteProductTopicInput!) { deleteProductTopic(input: $input) { deletedId userErrors { code message } } }`,
  );
  const [f, setF] = useState({ topicShortName: '', operation: 'PUB', description: '' });
  const [errors, setErrors] = useState<UserError[]>([]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await create.run({ input: { productKey, ...f, description: f.description || null } });
    if (!r) return;
    setErrors(r.createProductTopic.userErrors);
    if (!r.createProductTopic.userErrors.length) {
      setF({ topicShortName: '', operation: 'PUB', description: '' });
      reload();
    }
  };
  return (
    <div>
      <table class="table">
        <thead>
          <tr>
            <th>Topic</th>
            <th>Operation</th>
            <th>Description</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {topics.map((t) => (
            <tr>
              <td class="mono">{t.topicTemplate}</td>
              <td>{t.operation}</td>
              <td>{t.description ?? ''}</td>
              <td>
                <Button
                  class="small"
                  kind="danger"
                  onClick={async () =>
                    (await del.run({ input: { productKey, topicShortName: t.topicShortName } })) && reload()
                  }
                >
                  Delete
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {topics.length === 0 && <Empty>No custom topics.</Empty>}
      <form onSubmit={submit} class="pad">
        <div class="form-row">
          <Field label="Short name (after /user/)">
            <input
              name="topicShortName"
              value={f.topicShortName}
              onInput={(e) => setF({ ...f, topicShortName: e.currentTarget.value })}
              required
              placeholder="get"
            />
          </Field>
          <Field label="Operation">
            <select value={f.operation} onChange={(e) => setF({ ...f, operation: e.currentTarget.value })}>
              <option>PUB</option>
              <option>SUB</option>
              <option>ALL</option>
            </select>
          </Field>
          <Field label="Description">
            <input value={f.description} onInput={(e) => setF({ ...f, description: e.currentTarget.value })} />
          </Field>
        </div>
        <Button kind="primary" type="submit" busy={create.busy}>
          Add topic
        </Button>
        <Errors errors={[...errors, ...(create.error ? [create.error] : [])]} />
      </form>
    </div>
  );
}

export function ProductPage({ productKey }: { productKey: string }) {
  const q = useQuery(PRODUCT, { pk: productKey }, [productKey]);
  const [tab, setTab] = useState('Thing model');
  const p = q.data?.product;
  if (q.error) return <Errors errors={[q.error]} />;
  if (!q.data) return <Loading />;
  if (!p) return <Empty>Product {productKey} not found.</Empty>;
  return (
    <div>
      <PageTitle
        sub={
          <>
            <span class="mono">{p.productKey}</span> · {p.nodeType} · {p.dataFormat} · validation {p.validationMode}
          </>
        }
        actions={
          <Link href={`/devices?product=${p.productKey}`} class="btn">
            Devices ({p.online} online / {p.total})
          </Link>
        }
      >
        {p.name}
      </PageTitle>
      <Card>
        <Tabs tabs={['Thing model', 'Topics', 'Details']} value={tab} onChange={setTab} />
        {tab === 'Thing model' && <TslEditor productKey={productKey} tsl={p.thingModel.tsl} onSaved={() => {}} />}
        {tab === 'Topics' && <Topics productKey={productKey} topics={p.topics} reload={q.reload} />}
        {tab === 'Details' && (
          <dl class="kv">
            <dt>Description</dt>
            <dd>{p.description ?? '—'}</dd>
            <dt>Dynamic registration</dt>
            <dd>{p.dynamicRegistration ? 'on' : 'off'}</dd>
            <dt>Created</dt>
            <dd>{fmtTime(p.createdAt)}</dd>
          </dl>
        )}
      </Card>
    </div>
  );
}
