// The Helm chart (charts/gatehouse) without a cluster: its CRDs are the generated ones, `helm lint` passes and a
// typo'd value fails naming it (values.schema.json), and `helm template` for several value sets renders the
// objects, flags, RBAC rules and pod settings expected. Every rendered --flag must be one the CLI's usage lists.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrds } from '../../crds/render-crds.ts';
import { argFlags, CHART_DIR, commandUsage, find, helmProblem, kinds, makeHelm, usageFlags, type Helm, type K8sObject } from './helm-chart-support.ts';

const NS = 'gatehouse-system';
const CONTROLLER = 'gh-gatehouse-controller';
const PROXY = 'gh-gatehouse-proxy';

// ---- shapes the assertions read ----
interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  securityContext: Record<string, unknown>;
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  lifecycle?: unknown;
}
interface Volume {
  name: string;
  emptyDir?: { sizeLimit?: string };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Volume[];
  topologySpreadConstraints?: Array<{ topologyKey: string; whenUnsatisfiable: string }>;
  terminationGracePeriodSeconds: number;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function podSpec(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}
function container(deployment: K8sObject): Container {
  const c = podSpec(deployment).containers;
  assert.equal(c.length, 1, `${deployment.metadata.name}: one container`);
  return c[0] as Container;
}
function rules(role: K8sObject): Rule[] {
  return role.rules as Rule[];
}
/** Flag name → value ("" for a boolean flag), asserting no flag is repeated. */
function flagMap(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args.filter((x) => x.startsWith('--'))) {
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    assert.ok(!out.has(name), `--${name} appears twice in ${JSON.stringify(args)}`);
    out.set(name, eq < 0 ? '' : a.slice(eq + 1));
  }
  return out;
}

// What the controller reads and writes, from the code (see the chart's _helpers.tpl for the call sites).
const WATCH_RULES: Rule[] = [
  { apiGroups: ['gatehouse.dev'], resources: ['apiroutes', 'authorizers', 'ratepolicies'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['gatehouse.dev'], resources: ['apiroutes/status', 'authorizers/status', 'ratepolicies/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['services', 'secrets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];
const OWN_NAMESPACE_RULES: Rule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [CONTROLLER], verbs: ['get', 'update'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
];

const RESTRICTED = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

test('the chart\'s crds/ are exactly the generated CRDs (run `npm run gen` when this fails)', () => {
  const rendered = renderCrds();
  const dir = join(CHART_DIR, 'crds');
  assert.deepEqual(readdirSync(dir).sort(), [...rendered.keys()].sort(), 'charts/gatehouse/crds/ does not hold the same files as crds/');
  for (const [name, text] of rendered) {
    assert.ok(readFileSync(join(dir, name), 'utf8') === text, `charts/gatehouse/crds/${name} is stale: run \`npm run gen\``);
  }
});

const missingHelm = helmProblem();
test('helm is built', () => {
  if (missingHelm !== undefined) assert.fail(missingHelm);
});

describe('helm chart: lint and template', { skip: missingHelm && 'helm missing: see the failure above' }, () => {
  let helm: Helm;
  let controllerUsage: Set<string>;
  let proxyUsage: Set<string>;
  before(async () => {
    helm = await makeHelm();
    [controllerUsage, proxyUsage] = (await Promise.all([commandUsage('controller'), commandUsage('proxy')])).map(usageFlags) as [Set<string>, Set<string>];
  });
  after(() => helm?.cleanup());

  /** Every flag of both Deployments is in `gatehouse <command> --help`. */
  function assertFlagsInUsage(objects: K8sObject[]): void {
    for (const [name, usage, command] of [[CONTROLLER, controllerUsage, 'controller'], [PROXY, proxyUsage, 'proxy']] as const) {
      const c = container(find(objects, 'Deployment', name));
      assert.equal(c.args[0], command, `${name} runs \`gatehouse ${command}\``);
      for (const flag of argFlags(c.args)) assert.ok(usage.has(flag), `--${flag} (${name}) is not in \`gatehouse ${command} --help\`: ${[...usage].join(' ')}`);
    }
  }

  test('helm lint passes', async () => {
    const r = await helm.run(['lint', CHART_DIR, '--strict', '--namespace', NS]);
    assert.equal(r.code, 0, `helm lint failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('a typo in a value fails lint and template, naming the key and where it is', async () => {
    const lint = await helm.run(['lint', CHART_DIR, '--set', 'proxy.replicaz=2']);
    assert.notEqual(lint.code, 0);
    assert.match(lint.stdout + lint.stderr, /at '\/proxy': additional properties 'replicaz' not allowed/);
    const top = await helm.run(['template', 'gh', CHART_DIR, '--set', 'watchNamespace={a}']);
    assert.notEqual(top.code, 0);
    assert.match(top.stderr, /additional properties 'watchNamespace' not allowed/);
    const deep = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.service.tpye=NodePort']);
    assert.notEqual(deep.code, 0);
    assert.match(deep.stderr, /at '\/proxy\/service': additional properties 'tpye' not allowed/);
    const badEnum = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.service.type=Ingress']);
    assert.notEqual(badEnum.code, 0);
    assert.match(badEnum.stderr, /\/proxy\/service\/type/);
  });

  test('defaults: the objects, flags, RBAC and pod settings', async () => {
    const objects = await helm.template({});
    assert.deepEqual(kinds(objects), [
      `ClusterRole/${CONTROLLER}-${NS}`,
      `ClusterRoleBinding/${CONTROLLER}-${NS}`,
      `Deployment/${CONTROLLER}`,
      `Deployment/${PROXY}`,
      `HorizontalPodAutoscaler/${PROXY}`,
      `PodDisruptionBudget/${CONTROLLER}`,
      `PodDisruptionBudget/${PROXY}`,
      `Role/${CONTROLLER}`,
      `RoleBinding/${CONTROLLER}`,
      'Secret/gh-gatehouse-stream-token',
      `Service/${CONTROLLER}`,
      `Service/${PROXY}`,
      `ServiceAccount/${CONTROLLER}`,
      `ServiceAccount/${PROXY}`,
    ]);
    for (const o of objects) if (!o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, NS, `${o.kind}/${o.metadata.name} namespace`);
    assertFlagsInUsage(objects);

    // Controller
    const controller = find(objects, 'Deployment', CONTROLLER);
    assert.equal((controller.spec as { replicas: number }).replicas, 2);
    const cc = container(controller);
    assert.deepEqual(Object.fromEntries(flagMap(cc.args)), {
      'admin-port': '9091',
      'lease-namespace': NS,
      'lease-name': CONTROLLER,
      identity: '$(POD_NAME)',
      'lease-duration': '15s',
      'secret-selector': 'gatehouse.dev/secret',
      'stream-port': '9443',
      'stream-token-file': '/etc/gatehouse/stream-token/token',
    });
    assert.deepEqual(cc.env?.find((e) => e.name === 'POD_NAME')?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
    assert.deepEqual(cc.env?.find((e) => e.name === 'LOG_LEVEL')?.value, 'info');
    assert.deepEqual(cc.ports.map((p) => [p.name, p.containerPort]), [['stream', 9443], ['admin', 9091]]);
    const cpod = podSpec(controller);
    assert.equal(cpod.serviceAccountName, CONTROLLER);
    assert.equal(cpod.automountServiceAccountToken, true);

    // Proxy
    const proxy = find(objects, 'Deployment', PROXY);
    assert.equal((proxy.spec as { replicas?: number }).replicas, undefined, 'the HPA owns the replica count');
    const pc = container(proxy);
    assert.deepEqual(Object.fromEntries(flagMap(pc.args)), {
      controller: `ws://${CONTROLLER}.${NS}.svc:9443`,
      'token-file': '/etc/gatehouse/stream-token/token',
      'table-file': '/var/lib/gatehouse/table.json',
      port: '8080',
      'admin-port': '9090',
      'shutdown-delay': '5s',
      'shutdown-timeout': '25s',
    });
    const ppod = podSpec(proxy);
    // The delay, the drain and 5 s to release; the process waits by itself, no preStop hook.
    assert.equal(ppod.terminationGracePeriodSeconds, 35);
    assert.equal(pc.lifecycle, undefined);
    assert.equal(ppod.serviceAccountName, PROXY);
    assert.equal(ppod.automountServiceAccountToken, false);
    assert.equal(find(objects, 'ServiceAccount', PROXY).automountServiceAccountToken, false);
    // The table file's directory is an emptyDir.
    const tableMount = pc.volumeMounts.find((m) => '/var/lib/gatehouse/table.json'.startsWith(`${m.mountPath}/`));
    assert.ok(tableMount, 'a mount holds the table file');
    assert.ok(ppod.volumes.find((v) => v.name === tableMount.name)?.emptyDir, 'the table volume is an emptyDir');
    assert.deepEqual(
      ppod.topologySpreadConstraints?.map((t) => t.topologyKey),
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'],
    );

    // Both: the token Secret mounted read-only, probes on the admin port, restricted security settings, resources.
    for (const [deployment, c, pod] of [[controller, cc, cpod], [proxy, pc, ppod]] as const) {
      const name = deployment.metadata.name;
      const tokenMount = c.volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/stream-token');
      assert.equal(tokenMount?.readOnly, true, `${name}: token mounted read-only`);
      assert.deepEqual(pod.volumes.find((v) => v.name === tokenMount?.name)?.secret, {
        secretName: 'gh-gatehouse-stream-token',
        defaultMode: 0o440,
        items: [{ key: 'token', path: 'token' }],
      });
      assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'admin' }, name);
      assert.deepEqual(c.startupProbe.httpGet, { path: '/healthz', port: 'admin' }, name);
      assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'admin' }, name);
      assert.deepEqual(c.securityContext, RESTRICTED, `${name}: container securityContext`);
      assert.equal(pod.securityContext.runAsNonRoot, true, name);
      assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' }, name);
      assert.ok(c.resources.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${name}: resources`);
      // readOnlyRootFilesystem: every writable path is a volume.
      assert.ok(pod.volumes.find((v) => v.name === 'tmp')?.emptyDir, `${name}: /tmp is an emptyDir`);
      assert.equal(container(deployment).args.some((a) => a.includes('password') && !a.startsWith('--redis-password-file=')), false);
    }
    assert.equal(cc.securityContext.readOnlyRootFilesystem, true);

    // RBAC: exactly these rules; nothing is bound to the proxy's account.
    assert.deepEqual(rules(find(objects, 'ClusterRole', `${CONTROLLER}-${NS}`)), WATCH_RULES);
    assert.deepEqual(rules(find(objects, 'Role', CONTROLLER)), OWN_NAMESPACE_RULES);
    for (const binding of objects.filter((o) => o.kind.endsWith('RoleBinding'))) {
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: CONTROLLER, namespace: NS }], `${binding.kind}/${binding.metadata.name}`);
    }

    // Services, HPA, PDBs
    const proxySvc = find(objects, 'Service', PROXY).spec as { type: string; ports: Array<{ name: string; port: number; targetPort: string }> };
    assert.equal(proxySvc.type, 'ClusterIP');
    assert.deepEqual(proxySvc.ports.map((p) => [p.name, p.port, p.targetPort]), [['http', 80, 'http']]);
    const controllerSvc = find(objects, 'Service', CONTROLLER).spec as { type: string; ports: Array<{ name: string; port: number }> };
    assert.deepEqual(controllerSvc.ports.map((p) => [p.name, p.port]), [['stream', 9443], ['admin', 9091]]);
    const hpa = find(objects, 'HorizontalPodAutoscaler', PROXY).spec as { scaleTargetRef: { kind: string; name: string }; minReplicas: number };
    assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: PROXY });
    assert.equal(hpa.minReplicas, 2);
    assert.equal((find(objects, 'PodDisruptionBudget', CONTROLLER).spec as { minAvailable: number }).minAvailable, 1);
    assert.equal((find(objects, 'PodDisruptionBudget', PROXY).spec as { maxUnavailable: number }).maxUnavailable, 1);

    // The token: 48 random characters (helm template cannot look up, so it is fresh here).
    const token = Buffer.from((find(objects, 'Secret', 'gh-gatehouse-stream-token').data as { token: string }).token, 'base64').toString();
    assert.match(token, /^[A-Za-z0-9]{48}$/);
  });

  test('https: the proxies listen on proxy.httpsPort, the Service has an https port, the controller gets the default certificate; off by default', async () => {
    const objects = await helm.template({ controller: { defaultTlsSecret: 'edge/wildcard' }, proxy: { httpsPort: 8443, tlsMinVersion: 'TLSv1.3', httpsRedirectPort: 8443 } });
    assertFlagsInUsage(objects);
    const pc = container(find(objects, 'Deployment', PROXY));
    const flags = flagMap(pc.args);
    assert.equal(flags.get('https-port'), '8443');
    assert.equal(flags.get('tls-min-version'), 'TLSv1.3');
    assert.equal(flags.get('https-redirect-port'), '8443');
    assert.deepEqual(pc.ports.map((p) => [p.name, p.containerPort]), [['http', 8080], ['https', 8443], ['admin', 9090]]);
    const svc = find(objects, 'Service', PROXY).spec as { ports: Array<{ name: string; port: number; targetPort: string }> };
    assert.deepEqual(svc.ports.map((p) => [p.name, p.port, p.targetPort]), [['http', 80, 'http'], ['https', 443, 'https']]);
    assert.equal(flagMap(container(find(objects, 'Deployment', CONTROLLER)).args).get('default-tls-secret'), 'edge/wildcard');
    const bad = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.tlsMinVersion=TLSv1.1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /\/proxy\/tlsMinVersion/);
  });

  test('watchNamespaces [a, b]: --namespaces, and a Role + RoleBinding per namespace instead of a ClusterRole', async () => {
    const objects = await helm.template({ watchNamespaces: ['a', 'b'] });
    assertFlagsInUsage(objects);
    assert.equal(flagMap(container(find(objects, 'Deployment', CONTROLLER)).args).get('namespaces'), 'a,b');
    assert.deepEqual(objects.filter((o) => o.kind.startsWith('Cluster')), [], 'nothing cluster-wide');
    for (const ns of ['a', 'b']) {
      assert.deepEqual(rules(find(objects, 'Role', `${CONTROLLER}-watch`, ns)), WATCH_RULES);
      const binding = find(objects, 'RoleBinding', `${CONTROLLER}-watch`, ns);
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${CONTROLLER}-watch` });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: CONTROLLER, namespace: NS }]);
    }
    assert.deepEqual(rules(find(objects, 'Role', CONTROLLER, NS)), OWN_NAMESPACE_RULES);
  });

  test('service LoadBalancer with HPA off: a fixed replica count and no HPA', async () => {
    const objects = await helm.template({
      proxy: { replicas: 5, autoscaling: { enabled: false }, service: { type: 'LoadBalancer', port: 443, externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['10.0.0.0/8'] } },
    });
    assertFlagsInUsage(objects);
    assert.equal(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
    assert.equal((find(objects, 'Deployment', PROXY).spec as { replicas: number }).replicas, 5);
    const svc = find(objects, 'Service', PROXY).spec as Record<string, unknown>;
    assert.equal(svc.type, 'LoadBalancer');
    assert.equal(svc.externalTrafficPolicy, 'Local');
    assert.deepEqual(svc.loadBalancerSourceRanges, ['10.0.0.0/8']);
    assert.deepEqual((svc.ports as Array<{ port: number }>).map((p) => p.port), [443]);
    const nodePort = find(await helm.template({ proxy: { service: { type: 'NodePort', nodePort: 30080 } } }), 'Service', PROXY).spec as { type: string; ports: Array<{ nodePort: number }> };
    assert.equal(nodePort.type, 'NodePort');
    assert.equal(nodePort.ports[0]?.nodePort, 30080);
  });

  test('redis url + existingSecret: the flags, and the password as a mounted file', async () => {
    const objects = await helm.template({
      redis: { url: 'rediss://redis.cache:6380', existingSecret: 'redis-auth', existingSecretKey: 'redis-password', tls: true, caSecret: 'redis-ca', timeout: '50ms' },
      proxy: { trustedProxies: ['10.0.0.0/8', 'fd00::/8'], maxRoutes: 5000, localLimitKeys: 200000, accessLogSample: 0.05, clientHeaderTimeout: '20s', clientBodyTimeout: '1m30s' },
    });
    assertFlagsInUsage(objects);
    const proxy = find(objects, 'Deployment', PROXY);
    const flags = flagMap(container(proxy).args);
    assert.equal(flags.get('redis-url'), 'rediss://redis.cache:6380');
    assert.equal(flags.get('redis-password-file'), '/etc/gatehouse/redis/password');
    assert.equal(flags.get('redis-tls'), '');
    assert.equal(flags.get('redis-ca-file'), '/etc/gatehouse/redis-ca/ca.crt');
    const caMount = container(proxy).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/redis-ca');
    assert.deepEqual(podSpec(proxy).volumes.find((v) => v.name === caMount?.name)?.secret, { secretName: 'redis-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    assert.equal(flags.get('redis-timeout'), '50ms');
    assert.equal(flags.get('redis-connect-timeout'), '2s');
    assert.equal(flags.get('trusted-proxies'), '10.0.0.0/8,fd00::/8');
    assert.equal(flags.get('max-routes'), '5000');
    assert.equal(flags.get('local-limit-keys'), '200000');
    assert.equal(flags.get('access-log-sample'), '0.05');
    assert.equal(flags.get('client-header-timeout'), '20s');
    assert.equal(flags.get('client-body-timeout'), '1m30s');
    assert.equal(flags.has('redis-cluster-nodes'), false);
    const mount = container(proxy).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/redis');
    assert.equal(mount?.readOnly, true);
    assert.deepEqual(podSpec(proxy).volumes.find((v) => v.name === mount?.name)?.secret, {
      secretName: 'redis-auth',
      defaultMode: 0o440,
      items: [{ key: 'redis-password', path: 'password' }],
    });
    // The controller has no Redis flags.
    assert.equal(argFlags(container(find(objects, 'Deployment', CONTROLLER)).args).some((f) => f.startsWith('redis')), false);

    const cluster = await helm.template({ redis: { clusterNodes: ['r-0.redis:6379', 'r-1.redis:6379'] } });
    const clusterFlags = flagMap(container(find(cluster, 'Deployment', PROXY)).args);
    assert.equal(clusterFlags.get('redis-cluster-nodes'), 'r-0.redis:6379,r-1.redis:6379');
    assert.equal(clusterFlags.has('redis-password-file'), false);
    assert.equal(clusterFlags.has('redis-url'), false);

    const noRedis = flagMap(container(find(await helm.template({}), 'Deployment', PROXY)).args);
    assert.deepEqual([...noRedis.keys()].filter((f) => f.startsWith('redis')), []);

    const both = await helm.run(['template', 'gh', CHART_DIR, '--set', 'redis.url=redis://r:6379', '--set', 'redis.clusterNodes={r:6379}']);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /redis\.url and redis\.clusterNodes are exclusive/);
    const badUrl = await helm.run(['template', 'gh', CHART_DIR, '--set', 'redis.url=http://r:6379']);
    assert.notEqual(badUrl.code, 0);
    assert.match(badUrl.stderr, /\/redis\/url/);
  });

  test('streamTls: the controller serves wss:// with the Secret\'s key pair, the proxies get only its CA', async () => {
    const objects = await helm.template({ streamTls: { secretName: 'stream-cert', caKey: 'root.pem' } });
    assertFlagsInUsage(objects);
    const controller = find(objects, 'Deployment', CONTROLLER);
    const cflags = flagMap(container(controller).args);
    assert.equal(cflags.get('stream-tls-cert'), '/etc/gatehouse/stream-tls/tls.crt');
    assert.equal(cflags.get('stream-tls-key'), '/etc/gatehouse/stream-tls/tls.key');
    const cmount = container(controller).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/stream-tls');
    assert.equal(cmount?.readOnly, true);
    assert.deepEqual(podSpec(controller).volumes.find((v) => v.name === cmount?.name)?.secret, {
      secretName: 'stream-cert',
      defaultMode: 0o440,
      items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }],
    });
    const proxy = find(objects, 'Deployment', PROXY);
    const pflags = flagMap(container(proxy).args);
    assert.equal(pflags.get('controller'), `wss://${CONTROLLER}.${NS}.svc:9443`);
    assert.equal(pflags.get('ca-file'), '/etc/gatehouse/stream-ca/ca.crt');
    const pmount = container(proxy).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/stream-ca');
    assert.deepEqual(podSpec(proxy).volumes.find((v) => v.name === pmount?.name)?.secret, { secretName: 'stream-cert', items: [{ key: 'root.pem', path: 'ca.crt' }] });
    const keyInProxy = podSpec(proxy).volumes.some((v) => JSON.stringify(v).includes('tls.key'));
    assert.equal(keyInProxy, false, 'the proxies never mount the private key');

    const plain = await helm.template({});
    assert.equal(flagMap(container(find(plain, 'Deployment', PROXY)).args).has('ca-file'), false);
    assert.equal(flagMap(container(find(plain, 'Deployment', CONTROLLER)).args).has('stream-tls-cert'), false);
  });

  test('shutdown: the flags from proxy.shutdown; the grace period derived, or refused when it would not outlast the drain', async () => {
    const objects = await helm.template({ proxy: { shutdown: { delaySeconds: 10, timeoutSeconds: 50 } } });
    assertFlagsInUsage(objects);
    const proxy = find(objects, 'Deployment', PROXY);
    const flags = flagMap(container(proxy).args);
    assert.equal(flags.get('shutdown-delay'), '10s');
    assert.equal(flags.get('shutdown-timeout'), '50s');
    assert.equal(podSpec(proxy).terminationGracePeriodSeconds, 65);

    const explicit = await helm.template({ proxy: { shutdown: { delaySeconds: 0 }, terminationGracePeriodSeconds: 26 } });
    assert.equal(podSpec(find(explicit, 'Deployment', PROXY)).terminationGracePeriodSeconds, 26);
    assert.equal(flagMap(container(find(explicit, 'Deployment', PROXY)).args).get('shutdown-delay'), '0s');

    const tooShort = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.terminationGracePeriodSeconds=30']);
    assert.notEqual(tooShort.code, 0);
    assert.match(tooShort.stderr, /proxy\.terminationGracePeriodSeconds \(30\) must exceed proxy\.shutdown\.delaySeconds \+ proxy\.shutdown\.timeoutSeconds \(30\)/);
    const fractional = await helm.run(['template', 'gh', CHART_DIR, '-f', await helm.valuesFile({ proxy: { shutdown: { delaySeconds: 1.5 } } })]);
    assert.notEqual(fractional.code, 0);
    assert.match(fractional.stderr, /\/proxy\/shutdown\/delaySeconds/);
  });

  test('cache: --cache-max-bytes, and the admin token Secret mounted for --admin-token-file; neither by default', async () => {
    const objects = await helm.template({ proxy: { cache: { maxBytes: '512Mi', adminTokenSecret: 'gatehouse-admin', adminTokenSecretKey: 'bearer' } } });
    assertFlagsInUsage(objects);
    const proxy = find(objects, 'Deployment', PROXY);
    const flags = flagMap(container(proxy).args);
    assert.equal(flags.get('cache-max-bytes'), '512Mi');
    assert.equal(flags.get('admin-token-file'), '/etc/gatehouse/admin-token/token');
    const mount = container(proxy).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/admin-token');
    assert.equal(mount?.readOnly, true);
    assert.deepEqual(podSpec(proxy).volumes.find((v) => v.name === mount?.name)?.secret, {
      secretName: 'gatehouse-admin',
      defaultMode: 0o440,
      items: [{ key: 'bearer', path: 'token' }],
    });

    const defaults = find(await helm.template({}), 'Deployment', PROXY);
    const defaultFlags = flagMap(container(defaults).args);
    assert.equal(defaultFlags.has('cache-max-bytes'), false);
    assert.equal(defaultFlags.has('admin-token-file'), false);
    assert.equal(container(defaults).volumeMounts.some((m) => m.mountPath === '/etc/gatehouse/admin-token'), false);

    const badSize = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.cache.maxBytes=lots']);
    assert.notEqual(badSize.code, 0);
    assert.match(badSize.stderr, /\/proxy\/cache\/maxBytes/);
  });

  test('tracing: --otlp-endpoint and --otlp-sample, the headers Secret mounted for --otlp-headers-file; off by default', async () => {
    const objects = await helm.template({
      proxy: { tracing: { otlpEndpoint: 'http://otel-collector.observability:4318/v1/traces', sample: 0.25, headersSecret: 'otlp-auth', headersSecretKey: 'otlp-headers' } },
    });
    assertFlagsInUsage(objects);
    const proxy = find(objects, 'Deployment', PROXY);
    const flags = flagMap(container(proxy).args);
    assert.equal(flags.get('otlp-endpoint'), 'http://otel-collector.observability:4318/v1/traces');
    assert.equal(flags.get('otlp-sample'), '0.25');
    assert.equal(flags.get('otlp-headers-file'), '/etc/gatehouse/otlp/headers');
    const mount = container(proxy).volumeMounts.find((m) => m.mountPath === '/etc/gatehouse/otlp');
    assert.equal(mount?.readOnly, true);
    assert.deepEqual(podSpec(proxy).volumes.find((v) => v.name === mount?.name)?.secret, {
      secretName: 'otlp-auth',
      defaultMode: 0o440,
      items: [{ key: 'otlp-headers', path: 'headers' }],
    });
    // The controller exports no spans.
    assert.equal(argFlags(container(find(objects, 'Deployment', CONTROLLER)).args).some((f) => f.startsWith('otlp')), false);

    const noHeaders = flagMap(container(find(await helm.template({ proxy: { tracing: { otlpEndpoint: 'https://otlp.example.com/v1/traces' } } }), 'Deployment', PROXY)).args);
    assert.equal(noHeaders.get('otlp-sample'), '1');
    assert.equal(noHeaders.has('otlp-headers-file'), false);

    const defaults = find(await helm.template({}), 'Deployment', PROXY);
    assert.deepEqual([...flagMap(container(defaults).args).keys()].filter((f) => f.startsWith('otlp')), []);
    assert.equal(container(defaults).volumeMounts.some((m) => m.mountPath === '/etc/gatehouse/otlp'), false);

    const orphan = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.tracing.headersSecret=otlp-auth']);
    assert.notEqual(orphan.code, 0);
    assert.match(orphan.stderr, /proxy\.tracing\.headersSecret needs proxy\.tracing\.otlpEndpoint/);
    for (const bad of ['proxy.tracing.otlpEndpoint=grpc://c:4317/v1/traces', 'proxy.tracing.otlpEndpoint=http://c:4318', 'proxy.tracing.otlpEndpoint=http://u:p@c:4318/v1/traces', 'proxy.tracing.sample=1.5']) {
      const r = await helm.run(['template', 'gh', CHART_DIR, '--set', 'proxy.tracing.otlpEndpoint=http://c:4318/v1/traces', '--set', bad]);
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /\/proxy\/tracing\/(otlpEndpoint|sample)/, bad);
    }
  });

  test('serviceMonitor and networkPolicy: off by default; when on, proxies (only) may reach the stream port', async () => {
    const objects = await helm.template({ serviceMonitor: { enabled: true, labels: { release: 'prom' } }, networkPolicy: { enabled: true }, streamToken: { existingSecret: 'my-token', existingSecretKey: 'tok' } });
    const sm = find(objects, 'ServiceMonitor', 'gh-gatehouse');
    assert.equal(sm.metadata.labels?.release, 'prom');
    const smSpec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    assert.deepEqual(smSpec.endpoints.map((e) => [e.port, e.path]), [['admin', '/metrics']]);
    // Both Services it selects carry an "admin" port; the gateway Service does not expose the admin port.
    const scraped = objects.filter((o) => o.kind === 'Service' && Object.entries(smSpec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v));
    assert.deepEqual(scraped.map((s) => s.metadata.name).sort(), [CONTROLLER, `${PROXY}-metrics`]);
    for (const s of scraped) assert.ok((s.spec as { ports: Array<{ name: string }> }).ports.some((p) => p.name === 'admin'));

    const policy = find(objects, 'NetworkPolicy', CONTROLLER).spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: Array<{ from?: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>;
    };
    assert.equal(policy.podSelector.matchLabels['app.kubernetes.io/component'], 'controller');
    const stream = policy.ingress.find((i) => i.ports.some((p) => p.port === 9443));
    assert.equal(stream?.from?.length, 1);
    assert.equal(stream?.from?.[0]?.podSelector.matchLabels['app.kubernetes.io/component'], 'proxy');
    assert.ok(find(objects, 'NetworkPolicy', PROXY));

    // An existing token Secret: none generated, both pods mount it under the same file name.
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    for (const name of [CONTROLLER, PROXY]) {
      assert.deepEqual(podSpec(find(objects, 'Deployment', name)).volumes.find((v) => v.name === 'stream-token')?.secret, { secretName: 'my-token', defaultMode: 0o440, items: [{ key: 'tok', path: 'token' }] });
    }

    const defaults = await helm.template({});
    assert.deepEqual(defaults.filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'NetworkPolicy'), []);
  });

  test("dashboard: off by default; when on, the dashboard JSON in a ConfigMap with the Grafana sidecar's label", async () => {
    const dashboardFile = readFileSync(join(CHART_DIR, 'dashboards/gatehouse.json'), 'utf8');
    assert.deepEqual((await helm.template({})).filter((o) => o.kind === 'ConfigMap'), [], 'no ConfigMap by default');

    const on = find(await helm.template({ dashboard: { enabled: true } }), 'ConfigMap', 'gh-gatehouse-dashboard', NS);
    assert.equal(on.metadata.labels?.grafana_dashboard, '1');
    assert.equal(on.metadata.labels?.['app.kubernetes.io/instance'], 'gh');
    assert.equal(on.metadata.annotations, undefined);
    const data = on.data as Record<string, string>;
    assert.deepEqual(Object.keys(data), ['gatehouse.json']);
    assert.deepEqual(JSON.parse(data['gatehouse.json'] as string), JSON.parse(dashboardFile), 'the file, unchanged');

    // Another sidecar setup: its label, the namespace it searches, a folder annotation.
    const custom = find(
      await helm.template({ dashboard: { enabled: true, label: 'dashboards.example.com/grafana', labelValue: 'gatehouse', namespace: 'monitoring', annotations: { grafana_folder: 'Gateways' } } }),
      'ConfigMap',
      'gh-gatehouse-dashboard',
      'monitoring',
    );
    assert.equal(custom.metadata.labels?.['dashboards.example.com/grafana'], 'gatehouse');
    assert.equal(custom.metadata.labels?.grafana_dashboard, undefined);
    assert.deepEqual(custom.metadata.annotations, { grafana_folder: 'Gateways' });

    // The label value must be a string ("1", not 1): a number would not match the sidecar's selector.
    const numeric = await helm.run(['template', 'gh', CHART_DIR, '--set', 'dashboard.enabled=true', '--set', 'dashboard.labelValue=1']);
    assert.notEqual(numeric.code, 0);
    assert.match(numeric.stderr, /\/dashboard\/labelValue/);
  });
});
