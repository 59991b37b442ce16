import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { gql, getToken, onAuthChange, setToken } from './api.ts';
import { match, navigate, onLinkClick, useLocation } from './router.ts';
import { Button, Card, Errors, Field } from './ui.tsx';
import { Overview } from './pages/Overview.tsx';
import { Products, ProductPage } from './pages/Products.tsx';
import { Devices } from './pages/Devices.tsx';
import { DevicePage } from './pages/Device.tsx';
import { Rules } from './pages/Rules.tsx';
import { Ota } from './pages/Ota.tsx';
import { ApiKeys } from './pages/ApiKeys.tsx';

function SignIn() {
  const [token, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await gql('{ streamCursor }', {}, token.trim());
      setToken(token.trim());
      if (location.pathname === '/signin') navigate('/');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <Card title="Sign in to ThingQL">
        <form onSubmit={submit}>
          <Field label="API key or admin token" hint="Kept in this browser tab only (sessionStorage).">
            <input
              name="token"
              type="password"
              autoComplete="off"
              value={token}
              onInput={(e) => setValue(e.currentTarget.value)}
              autoFocus
            />
          </Field>
          <Errors errors={error ? [error] : []} />
          <Button kind="primary" type="submit" busy={busy}>
            Sign in
          </Button>
        </form>
      </Card>
    </div>
  );
}

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/products', 'Products'],
  ['/devices', 'Devices'],
  ['/rules', 'Rules'],
  ['/ota', 'OTA'],
  ['/api-keys', 'API keys'],
];

function Route({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return <Overview />;
  if (match('/products', path)) return <Products />;
  if ((m = match('/products/:pk', path))) return <ProductPage productKey={m.pk!} />;
  if (match('/devices', path)) return <Devices />;
  if ((m = match('/devices/:pk/:dn', path))) return <DevicePage productKey={m.pk!} deviceName={m.dn!} />;
  if (match('/rules', path)) return <Rules />;
  if (match('/ota', path)) return <Ota />;
  if (match('/api-keys', path)) return <ApiKeys />;
  return <div class="empty">Page not found.</div>;
}

function App() {
  const { path } = useLocation();
  const [signedIn, setSignedIn] = useState(Boolean(getToken()));
  useEffect(() => onAuthChange(() => setSignedIn(Boolean(getToken()))), []);
  if (!signedIn) return <SignIn />;
  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <div class="layout">
      <nav class="side">
        <div class="brand">
          <img src="/favicon.svg" alt="" /> ThingQL
        </div>
        {NAV.map(([href, label]) => (
          <a href={href} class={section === href ? 'active' : ''} onClick={onLinkClick}>
            {label}
          </a>
        ))}
        <hr />
        <a href="/graphql">GraphiQL ↗</a>
        <div class="foot">
          <button type="button" class="btn small" onClick={() => setToken(null)}>
            Sign out
          </button>
        </div>
      </nav>
      <main>
        <Route path={path} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
