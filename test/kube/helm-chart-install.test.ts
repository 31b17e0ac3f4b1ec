// The Helm chart against a real API server (test/kube/control-plane.ts, which runs with --authorization-mode=RBAC):
// `helm install` creates every object and the API server accepts it (the chart's CRDs included: the control plane
// starts without them), `helm upgrade` keeps the generated stream token, `kubectl auth can-i` as the chart's
// ServiceAccounts shows least privilege, and the real `gatehouse controller`, run with the rendered flags and the
// controller ServiceAccount's token, does its whole job (statuses, Lease, fleet ConfigMap, Events) with no 403,
// while two real `gatehouse proxy` processes, run with the proxy Deployment's args, env and mounted files
// (pod-as-process.ts), subscribe to it and route a request.
//
// There is no kubelet, scheduler or controller-manager here: the Deployments get no ReplicaSets or pods, the HPA
// and PDBs are never acted upon, and no container runs (no image is built). What can be checked is that the API
// server accepts every object as rendered, what the ServiceAccounts may do, and that the controller's permissions
// are enough when its process runs outside the cluster with the same identity and flags, and that the processes
// start and work with exactly the flags and files the chart gives them.
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeBinariesProblem, startControlPlane, type ControlPlane } from './control-plane.ts';
import { z } from 'zod';
import { startEcho, type EchoReply, type Upstream } from '../e2e/helpers/upstreams.ts';
import { getThrough } from '../fleet/proxy-process.ts';
import { startCliProcess, type CliProcess } from '../support/cli-process.ts';
import { adminGet, startController, type ControllerProcess } from './controller-process.ts';
import { localContainer } from './pod-as-process.ts';
import { CHART_DIR, helmProblem, makeHelm, parseObjects, type Helm, type K8sObject } from './helm-chart-support.ts';
import { waitFor } from '../support/wait-for.ts';

const NS = 'gatehouse-system';
const CONTROLLER = 'gh-gatehouse-controller';
const PROXY = 'gh-gatehouse-proxy';
const TOKEN_SECRET = 'gh-gatehouse-stream-token';
const CONTROLLER_SA = `system:serviceaccount:${NS}:${CONTROLLER}`;
const PROXY_SA = `system:serviceaccount:${NS}:${PROXY}`;

const proxyStarted = z.object({ msg: z.literal('gatehouse proxy started'), name: z.string(), port: z.number().int(), adminPort: z.number().int() });

const problem = kubeBinariesProblem() ?? helmProblem();
test('the kube test binaries and helm are built', () => {
  if (problem !== undefined) assert.fail(problem);
});

describe('helm chart: install, upgrade and RBAC on a real API server', { skip: problem && 'binaries missing: see the failure above' }, () => {
  let cp: ControlPlane;
  let helm: Helm;
  let tmp: string;
  let controller: ControllerProcess | undefined;
  let upstream: Upstream | undefined;
  const proxies: Array<CliProcess<z.output<typeof proxyStarted>>> = [];

  before(
    async () => {
      tmp = await mkdtemp(join(tmpdir(), 'gatehouse-helm-install-'));
      cp = await startControlPlane({ installCrds: false });
      helm = await makeHelm(cp.kubeconfigPath);
    },
    { timeout: 120_000 },
  );
  after(
    async () => {
      for (const p of proxies) await p.stop();
      await controller?.stop();
      await upstream?.close();
      await helm?.cleanup();
      await cp?.stop();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    },
    { timeout: 30_000 },
  );

  async function kubectlOk(args: string[], stdin?: string): Promise<string> {
    const r = await cp.kubectl(args, stdin === undefined ? {} : { stdin });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  }
  async function getJson(args: string[]): Promise<K8sObject & { items?: K8sObject[]; data?: Record<string, string> }> {
    return JSON.parse(await kubectlOk(['get', ...args, '-o', 'json'])) as K8sObject & { items?: K8sObject[] };
  }
  async function helmOk(args: string[]): Promise<string> {
    const r = await helm.run(args, { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `helm ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  /** `kubectl auth can-i` as `user`: true (yes, exit 0) or false (no, exit 1); anything else fails. */
  async function canI(user: string, args: string[]): Promise<boolean> {
    const r = await cp.kubectl(['auth', 'can-i', ...args, `--as=${user}`]);
    assert.ok(r.code === 0 || r.code === 1, `kubectl auth can-i ${args.join(' ')} failed:\n${r.stderr}`);
    return r.code === 0;
  }
  async function expectCan(user: string, allowed: string[][], denied: string[][]): Promise<void> {
    const wrong: string[] = [];
    const answers = await Promise.all([...allowed.map((a) => canI(user, a)), ...denied.map((a) => canI(user, a))]);
    answers.forEach((yes, i) => {
      const shouldBe = i < allowed.length;
      const args = i < allowed.length ? allowed[i] : denied[i - allowed.length];
      if (yes !== shouldBe) wrong.push(`${shouldBe ? 'cannot' : 'CAN'} ${args?.join(' ')}`);
    });
    assert.deepEqual(wrong, [], `${user}: unexpected answers`);
  }
  const tokenOf = async (): Promise<string> => (await getJson(['secret', TOKEN_SECRET, '-n', NS])).data?.token ?? '';

  let installedToken = '';

  test('a typo in a value fails helm install with a message naming it, and installs nothing', async () => {
    const r = await helm.run(['install', 'gh', CHART_DIR, '-n', NS, '--create-namespace', '--set', 'proxy.replicaz=2']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /at '\/proxy': additional properties 'replicaz' not allowed/);
    assert.equal((await helm.run(['status', 'gh', '-n', NS])).code === 0, false, 'no release was recorded');
  });

  test('helm install: the CRDs become Established and the API server accepts every object', { timeout: 120_000 }, async () => {
    await helmOk(['install', 'gh', CHART_DIR, '-n', NS, '--create-namespace']);
    await kubectlOk(['wait', '--for=condition=Established', '--timeout=30s', 'crd/apiroutes.gatehouse.dev', 'crd/authorizers.gatehouse.dev', 'crd/ratepolicies.gatehouse.dev']);

    // What helm applied, object for object (the manifest of the release), exists with the rendered spec.
    const manifest = parseObjects(await helmOk(['get', 'manifest', 'gh', '-n', NS]));
    assert.ok(manifest.length >= 14, `${manifest.length} objects in the release`);
    for (const o of manifest) {
      const live = await getJson([`${o.kind.toLowerCase()}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''), o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : [])]);
      assert.equal(live.metadata.name, o.metadata.name);
      if (o.kind === 'Deployment') {
        type Spec = { template: { spec: { containers: Array<{ args: string[] }>; automountServiceAccountToken: boolean } } };
        assert.deepEqual((live.spec as Spec).template.spec.containers[0]?.args, (o.spec as Spec).template.spec.containers[0]?.args, `${o.metadata.name} args as rendered`);
        assert.equal((live.spec as Spec).template.spec.automountServiceAccountToken, o.metadata.name === CONTROLLER);
      }
    }
    const hpa = await getJson(['hpa', PROXY, '-n', NS]);
    assert.equal((hpa.spec as { maxReplicas: number }).maxReplicas, 10);
    installedToken = await tokenOf();
    assert.match(Buffer.from(installedToken, 'base64').toString(), /^[A-Za-z0-9]{48}$/);
  });

  test('NOTES.txt: names the gateway Service, and its first ApiRoute is accepted by the API server', async () => {
    const notes = await helmOk(['get', 'notes', 'gh', '-n', NS]);
    assert.match(notes, new RegExp(`port-forward service/${PROXY} `));
    const block = /<<'YAML'\n([\s\S]*?)\n\s*YAML\n/.exec(notes)?.[1];
    assert.ok(block, `an ApiRoute heredoc in the notes:\n${notes}`);
    const indent = /^ */.exec(block)?.[0].length ?? 0;
    const manifest = block.split('\n').map((l) => l.slice(indent)).join('\n');
    await kubectlOk(['apply', '--dry-run=server', '-f', '-'], manifest);
  });

  test('helm upgrade: values change, the stream token Secret keeps its data', { timeout: 120_000 }, async () => {
    assert.ok(installedToken, 'installed first');
    await helmOk(['upgrade', 'gh', CHART_DIR, '-n', NS, '--set', 'proxy.autoscaling.enabled=false', '--set', 'proxy.replicas=3', '--set', 'logLevel=debug', '--set', 'dashboard.enabled=true']);
    const status = JSON.parse(await helmOk(['status', 'gh', '-n', NS, '-o', 'json'])) as { version: number; info: { status: string } };
    assert.equal(status.version, 2);
    assert.equal(status.info.status, 'deployed');
    assert.equal(await tokenOf(), installedToken, 'the upgrade kept the token');
    const proxy = await getJson(['deployment', PROXY, '-n', NS]);
    type Spec = { replicas: number; template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
    assert.equal((proxy.spec as Spec).replicas, 3);
    assert.equal((proxy.spec as Spec).template.spec.containers[0]?.env.find((e) => e.name === 'LOG_LEVEL')?.value, 'debug');
    const gone = await cp.kubectl(['get', 'hpa', PROXY, '-n', NS]);
    assert.notEqual(gone.code, 0, 'the HPA was removed');
    assert.match(gone.stderr, /NotFound/);
    // The dashboard ConfigMap is accepted by the API server, with the label Grafana's sidecar selects on.
    const dashboards = JSON.parse(await kubectlOk(['get', 'configmaps', '-n', NS, '-l', 'grafana_dashboard=1', '-o', 'json'])) as { items: Array<{ metadata: { name: string }; data: Record<string, string> }> };
    assert.deepEqual(dashboards.items.map((c) => c.metadata.name), ['gh-gatehouse-dashboard']);
    assert.equal((JSON.parse(dashboards.items[0]?.data['gatehouse.json'] ?? '{}') as { uid?: string }).uid, 'gatehouse');
    // A second upgrade (no changes) keeps it too.
    await helmOk(['upgrade', 'gh', CHART_DIR, '-n', NS, '--reuse-values']);
    assert.equal(await tokenOf(), installedToken);
  });

  test('kubectl auth can-i: the controller has exactly what it needs, the proxy nothing', async () => {
    await kubectlOk(['create', 'namespace', 'elsewhere']);
    const lease = `leases.coordination.k8s.io/${CONTROLLER}`;
    await expectCan(
      CONTROLLER_SA,
      [
        ...['apiroutes', 'authorizers', 'ratepolicies'].flatMap((k) => [['list', `${k}.gatehouse.dev`, '-A'], ['watch', `${k}.gatehouse.dev`, '-A'], ['get', `${k}.gatehouse.dev`, '-n', 'default']]),
        ...['apiroutes', 'authorizers', 'ratepolicies'].map((k) => ['patch', `${k}.gatehouse.dev`, '--subresource=status', '-n', 'default']),
        ['list', 'secrets', '-A'],
        ['watch', 'secrets', '-n', 'default'],
        // Labelled ConfigMaps (request schemas, response bodies) are read cluster-wide, like labelled Secrets.
        ['list', 'configmaps', '-A'],
        ['watch', 'configmaps', '-n', 'elsewhere'],
        ['list', 'services', '-A'],
        ['watch', 'endpointslices.discovery.k8s.io', '-A'],
        ['create', 'events', '-n', 'default'],
        ['patch', 'events', '-n', 'default'],
        ['get', lease, '-n', NS],
        ['update', lease, '-n', NS],
        ['create', 'leases.coordination.k8s.io', '-n', NS],
        ['list', 'configmaps', '-n', NS],
        ['watch', 'configmaps', '-n', NS],
        ['create', 'configmaps', '-n', NS],
        ['update', 'configmaps', '-n', NS],
        ['delete', 'configmaps', '-n', NS],
      ],
      [
        ['create', 'secrets', '-n', 'default'],
        ['update', 'secrets', '-n', NS],
        ['delete', 'secrets', '-n', 'default'],
        ['patch', 'apiroutes.gatehouse.dev', '-n', 'default'],
        ['update', 'apiroutes.gatehouse.dev', '-n', 'default'],
        ['create', 'ratepolicies.gatehouse.dev', '-n', 'default'],
        ['delete', 'authorizers.gatehouse.dev', '-n', 'default'],
        ['update', 'ratepolicies.gatehouse.dev', '--subresource=status', '-n', 'default'],
        ['patch', 'services', '-n', 'default'],
        ['get', lease, '-n', 'elsewhere'],
        ['update', lease, '-n', 'elsewhere'],
        ['create', 'leases.coordination.k8s.io', '-n', 'elsewhere'],
        ['get', 'leases.coordination.k8s.io/someone-else', '-n', NS],
        ['update', 'leases.coordination.k8s.io/someone-else', '-n', NS],
        ['create', 'configmaps', '-n', 'default'],
        ['update', 'configmaps', '-n', 'elsewhere'],
        ['delete', 'events', '-n', 'default'],
        ['list', 'pods', '-n', NS],
        ['create', 'pods', '-n', NS],
        ['list', 'namespaces'],
        ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
        ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
        ['create', 'serviceaccounts/token', '-n', NS],
      ],
    );
    await expectCan(PROXY_SA, [], [
      ['list', 'secrets', '-n', NS],
      ['get', `secrets/${TOKEN_SECRET}`, '-n', NS],
      ['get', 'configmaps', '-n', NS],
      ['list', 'configmaps', '-n', NS],
      ['list', 'apiroutes.gatehouse.dev', '-A'],
      ['get', 'leases.coordination.k8s.io', '-n', NS],
      ['list', 'services', '-n', NS],
      ['list', 'endpointslices.discovery.k8s.io', '-n', NS],
      ['create', 'events', '-n', NS],
    ]);
  });

  test('watchNamespaces: reads only in the watched namespaces, nothing cluster-wide', { timeout: 120_000 }, async () => {
    for (const ns of ['team-a', 'team-b']) await kubectlOk(['create', 'namespace', ns]);
    await helmOk(['install', 'scoped', CHART_DIR, '-n', 'gh-scoped', '--create-namespace', '--set', 'watchNamespaces={team-a}']);
    const sa = 'system:serviceaccount:gh-scoped:scoped-gatehouse-controller';
    await expectCan(
      sa,
      [
        ['list', 'secrets', '-n', 'team-a'],
        ['watch', 'apiroutes.gatehouse.dev', '-n', 'team-a'],
        ['patch', 'ratepolicies.gatehouse.dev', '--subresource=status', '-n', 'team-a'],
        ['list', 'endpointslices.discovery.k8s.io', '-n', 'team-a'],
        ['create', 'events', '-n', 'team-a'],
        ['get', 'leases.coordination.k8s.io/scoped-gatehouse-controller', '-n', 'gh-scoped'],
      ],
      [
        ['list', 'secrets', '-A'],
        ['list', 'secrets', '-n', 'team-b'],
        ['list', 'apiroutes.gatehouse.dev', '-A'],
        ['watch', 'services', '-n', 'team-b'],
        ['patch', 'apiroutes.gatehouse.dev', '--subresource=status', '-n', 'team-b'],
        ['create', 'events', '-n', 'team-b'],
        ['create', 'secrets', '-n', 'team-a'],
        ['get', 'leases.coordination.k8s.io/scoped-gatehouse-controller', '-n', 'team-a'],
      ],
    );
    // The other release's ClusterRole is not this one's: the two releases' RBAC objects do not collide.
    const clusterRoles = (await getJson(['clusterroles', '-l', 'app.kubernetes.io/part-of=gatehouse'])).items ?? [];
    assert.deepEqual(clusterRoles.map((r) => r.metadata.name), [`${CONTROLLER}-${NS}`]);
  });

  const readSecret = async (namespace: string, name: string): Promise<Record<string, Buffer>> => {
    const data = (await getJson(['secret', name, '-n', namespace])).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  };

  test('the real controller and two proxies, run as the chart renders them (stream over TLS), route a request (the controller with its ServiceAccount\'s token, no 403)', { timeout: 180_000 }, async () => {
    upstream = await startEcho('chart-upstream');
    // A token for the controller's ServiceAccount (TokenRequest), in a kubeconfig of its own.
    const saToken = (await kubectlOk(['create', 'token', CONTROLLER, '-n', NS, '--duration=1h'])).trim();
    const kubeconfig = join(tmp, 'controller-sa.kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
        users: [{ name: 'sa', user: { token: saToken } }],
        contexts: [{ name: 'sa', context: { cluster: 'test', user: 'sa' } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    // The stream over TLS, set up as a user would: a kubernetes.io/tls Secret whose certificate names the controller
    // Service (and 127.0.0.1, where this test's controller listens), self-signed so it is also the proxies' CA.
    const [keyFile, certFile] = [join(tmp, 'stream.key'), join(tmp, 'stream.crt')];
    const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=gatehouse-stream', '-addext', `subjectAltName=DNS:${CONTROLLER}.${NS}.svc,IP:127.0.0.1`, '-days', '1'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(openssl.status, 0, openssl.stderr);
    await kubectlOk(['create', 'secret', 'generic', 'gh-stream-tls', '-n', NS, '--type=kubernetes.io/tls', `--from-file=tls.crt=${certFile}`, `--from-file=tls.key=${keyFile}`, `--from-file=ca.crt=${certFile}`]);
    await helmOk(['upgrade', 'gh', CHART_DIR, '-n', NS, '--reuse-values', '--set', 'streamTls.secretName=gh-stream-tls']);

    // The Deployment as installed, its container as a local process: the token Secret written where the pod mounts
    // it, $(POD_NAME) expanded; then only what a loopback process must change: free ports on 127.0.0.1.
    const deployment = await getJson(['deployment', CONTROLLER, '-n', NS]);
    const pod = await localContainer(deployment, `${CONTROLLER}-test-0`, join(tmp, 'controller-pod'), readSecret);
    assert.equal(pod.args[0], 'controller');
    assert.ok(pod.args.includes(`--identity=${CONTROLLER}-test-0`), `$(POD_NAME) expanded: ${pod.args.join(' ')}`);
    const adapted = pod.args.slice(1).flatMap((a) => {
      if (a.startsWith('--admin-port=')) return []; // startController passes --admin-port 0 --admin-host 127.0.0.1
      if (a.startsWith('--stream-port=')) return ['--stream-port=0', '--stream-host=127.0.0.1'];
      return [a];
    });
    controller = await startController(kubeconfig, adapted, 30_000, pod.env);

    const route = (name: string, path: Record<string, string>) => ({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiRoute',
      metadata: { name, namespace: 'default' },
      spec: { hosts: [`${name}.example.com`], rules: [{ matches: [{ path }], backends: [{ url: `http://127.0.0.1:${upstream?.port}` }] }] },
    });
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [route('good', { type: 'Prefix', value: '/' }), route('bad-regex', { type: 'Regex', value: '/items/([0-9' })] }));

    type Condition = { type: string; status: string };
    const accepted = async (name: string): Promise<string | undefined> => {
      const o = (await getJson(['apiroute', name, '-n', 'default'])) as K8sObject & { status?: { conditions?: Condition[] } };
      return o.status?.conditions?.find((c) => c.type === 'Accepted')?.status;
    };
    // Each wait fails at once, with the log lines, when the controller logs a permission error.
    const forbidden = (): string[] => (controller?.logs() ?? '').split('\n').filter((l) => /forbidden|\b403\b/i.test(l));
    const until = async (what: string, check: () => Promise<boolean>): Promise<void> => {
      const outcome = await waitFor(what, async () => (forbidden().length > 0 ? 'forbidden' : (await check()) ? 'ok' : undefined), 30_000);
      assert.equal(outcome, 'ok', `waiting for ${what}, the controller hit a permission error:\n${forbidden().join('\n')}`);
    };
    // Status patches (as the Lease holder: get/create/update on its Lease).
    await until('good: Accepted=True', async () => (await accepted('good')) === 'True');
    await until('bad-regex: Accepted=False', async () => (await accepted('bad-regex')) === 'False');
    const lease = await getJson(['lease', CONTROLLER, '-n', NS]);
    assert.equal((lease.spec as { holderIdentity: string }).holderIdentity, 'gh-gatehouse-controller-test-0');
    // Events (create) in the resource's namespace.
    await until('a Warning Event for bad-regex', async () => {
      const events = (await getJson(['events', '-n', 'default', '--field-selector', 'involvedObject.name=bad-regex'])).items ?? [];
      return events.some((e) => (e as K8sObject & { type?: string }).type === 'Warning');
    });
    // Its fleet report ConfigMap, in the release namespace.
    await until("the replica's fleet ConfigMap", async () => {
      const cms = (await getJson(['configmaps', '-n', NS])).items ?? [];
      return cms.some((c) => c.metadata.name.includes('gh-gatehouse-controller-test-0'));
    });
    assert.deepEqual(forbidden(), [], 'the controller hit a permission error');

    // Two proxies, each with the proxy Deployment's args, env and mounted token as its pod would have them. The
    // controller URL must name the controller Service's stream port; only its host becomes the local controller.
    const service = await getJson(['service', CONTROLLER, '-n', NS]);
    const streamPort = (service.spec as { ports: Array<{ name: string; port: number }> }).ports.find((p) => p.name === 'stream')?.port;
    const proxyDeployment = await getJson(['deployment', PROXY, '-n', NS]);
    for (const name of [`${PROXY}-test-a`, `${PROXY}-test-b`]) {
      const pod = await localContainer(proxyDeployment, name, join(tmp, name), readSecret);
      assert.equal(pod.args[0], 'proxy');
      const args = pod.args.slice(1).flatMap((a) => {
        if (a.startsWith('--controller=')) {
          const url = new URL(a.slice('--controller='.length));
          assert.equal(url.host, `${CONTROLLER}.${NS}.svc:${streamPort}`, 'the proxies subscribe to the controller Service\'s stream port');
          assert.equal(url.protocol, 'wss:', 'over TLS');
          return [`--controller=${url.protocol}//127.0.0.1:${controller?.streamPort}`];
        }
        if (a.startsWith('--port=')) return ['--port=0', '--host=127.0.0.1'];
        if (a.startsWith('--admin-port=')) return ['--admin-port=0', '--admin-host=127.0.0.1'];
        if (a.startsWith('--shutdown-delay=')) return ['--shutdown-delay=0s']; // no endpoints to leave: stop() is quick
        return [a];
      });
      const p = await startCliProcess({ args: ['proxy', ...args], env: pod.env, marker: 'gatehouse proxy started', schema: proxyStarted, what: name, timeoutMs: 30_000 });
      proxies.push(p);
      assert.equal(p.started.name, name, 'the proxy is named by $POD_NAME');
    }
    for (const p of proxies) {
      const reply = await waitFor(
        `a request through ${p.started.name}`,
        async () => {
          const r = await getThrough(p.started.port, 'good.example.com', '/hello');
          return r.status === 200 ? r : undefined;
        },
        30_000,
      ).catch((err: Error) => assert.fail(`${err.message}\nproxy output:\n${p.logs().slice(-4000)}`));
      assert.equal((JSON.parse(reply.body) as EchoReply).path, '/hello');
    }
    const fleet = await adminGet(controller.adminPort, '/debug/fleet');
    for (const p of proxies) assert.match(fleet.body, new RegExp(p.started.name), 'the controller sees both proxies');
    for (const p of proxies.splice(0)) await p.stop();
    await controller.stop();
    controller = undefined;
  });
});
