/** The free entry: what the personal edition is. Self-serve sign-up comes later; this page says so. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import type { Health } from '../shared/api.ts';
import { useResource } from '../shared/hooks.ts';

function ServiceStatus() {
  const { state } = useResource<Health>('/api/health');
  if (state.status === 'loading') return null;
  const up = state.status === 'ready' && state.data.status === 'ok';
  return (
    <p className="muted" role="status">
      Service status: {up ? 'available' : 'unavailable right now'}
    </p>
  );
}

function FreeEntry() {
  return (
    <main className="free-page" id="main">
      <p className="product">ExecFabric</p>
      <h1>The personal edition</h1>
      <p className="hero">
        Run your own automation Skills — small Python scripts behind a form — in a workspace of your own, free
        of charge.
      </p>
      <section className="card" aria-labelledby="what-you-get">
        <h2 id="what-you-get">What you get</h2>
        <ul>
          <li>A personal workspace at its own address, isolated from everyone else's.</li>
          <li>
            Skills with input forms generated from their schema, and a history of every run with its logs.
          </li>
          <li>Versioned scripts: upload a new version, switch to it, roll back when you need to.</li>
          <li>Fair quotas on runs and storage, so the free edition stays free.</li>
        </ul>
      </section>
      <section className="card" aria-labelledby="sign-up">
        <h2 id="sign-up">Sign-up opens soon</h2>
        <p>
          Self-service sign-up for the personal edition is not open yet. When it is, you will create your
          workspace here in a minute.
        </p>
        <p>
          Already part of an organisation on ExecFabric? Sign in at your organisation's own address instead.
        </p>
      </section>
      <ServiceStatus />
    </main>
  );
}

const root = document.getElementById('root');
if (root === null) throw new Error('The page has no #root element');
createRoot(root).render(
  <StrictMode>
    <FreeEntry />
  </StrictMode>,
);
