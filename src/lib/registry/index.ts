/**
 * The device registry: devices registered only from a certificate chain that verifies offline to
 * a root the operator chose, keyed by the device id in the certificate subject, with the public
 * key telemetry is verified with, and HMAC secrets held only wrapped. See docs/console.md.
 */
export { DEVICE_ID_ATTRIBUTES, DEVICE_ID_PATTERN, type DeviceIdAttribute, deviceIdFromSubject, isDeviceId } from './device-id';
export { type RegistryError, type RegistryErrorCode } from './errors';
export { type ChainInput, checkRegistration, readChain, type RegisteredDevice, type RegistrationInput } from './register';
export { DeviceRegistry, HMAC_SECRET_MAX, HMAC_SECRET_MIN, openDeviceRegistry, REGISTRY_DB_NAME, type RegisterOptions, type Registered } from './store';
export { type IssuedChain, PROVISIONING_SOURCE, REGISTER_ACTION, type RegisterProvisionedDeps, type RegistrationContext, registerProvisioned, registrationNote } from './provisioned';
