/**
 * The one door to @peculiar/x509 inside `pki/`: its DI container needs `reflect-metadata` loaded
 * before the library itself (STACK.md), so every module imports the library from here.
 */
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';
