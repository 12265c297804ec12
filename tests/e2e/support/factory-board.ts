/**
 * A simulated board as a factory left it: one P-256 key at 0x00000001 made on the board, certified
 * through the board's own CSR by a CA of the factory's (which the page under test does not hold),
 * with `serial` in the certificate. Provisioned in Node with the app's own flow, then released,
 * so a test can attach it to any bridge.
 */
import { connectBoard } from '../../../src/lib/device';
import { createCa } from '../../../src/lib/pki';
import { MemoryAuditSink, planProvisioning, runProvisioning, TFM_SAMPLE_PROFILE, type KeysGroupProfile } from '../../../src/lib/provisioning';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../../src/lib/sim';

const FACTORY_PROFILE: KeysGroupProfile = { ...TFM_SAMPLE_PROFILE, id: 'factory', keys: [{ label: 'device', id: 1, alg: 'p256', source: 'board', certificate: 'csr' }] };

export async function factoryBoard(serial: string, factory = 'Factory'): Promise<SimulatedDevice> {
  const device = createSimulatedDevice();
  const ca = await createCa({ label: factory, organization: factory });
  if (!ca.ok) throw new Error(ca.error.message);
  const plan = planProvisioning(FACTORY_PROFILE);
  if (!plan.ok) throw new Error(plan.error.message);
  const board = await connectBoard(connectSimulatedBoard(device.board, { baudRate: Infinity }));
  const run = await runProvisioning({ board, plan: plan.value, ca: ca.value.ca, boardSerial: serial, audit: new MemoryAuditSink() });
  await board.close();
  if (!run.ok) throw new Error(run.error.message);
  return device;
}
