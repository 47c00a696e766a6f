// Loads skaffold.yaml (one document per config), validates configs against Skaffold's
// v4beta14 JSON schema (copied into schemas/ from Skaffold's published schema), and applies
// profiles' JSON patches the way Skaffold does, so every profile variant can be checked too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { deployTestsRoot, fromRepo } from './paths.js';

export interface SkaffoldArtifact {
  image: string;
  context?: string;
  docker?: { dockerfile?: string; target?: string };
  sync?: { manual?: { src: string; dest: string; strip?: string }[] };
}
export interface SkaffoldProfile {
  name: string;
  patches?: Operation[];
  activation?: unknown[];
}
export interface SkaffoldConfig {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  requires?: unknown[];
  build?: { artifacts?: SkaffoldArtifact[] };
  manifests?: { kustomize?: { paths?: string[] }; rawYaml?: string[] };
  deploy?: { kubeContext?: string; kubectl?: unknown };
  profiles?: SkaffoldProfile[];
  [key: string]: unknown;
}

export function loadSkaffoldConfigs(path = fromRepo('skaffold.yaml')): SkaffoldConfig[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc, index) => {
    if (doc.errors.length > 0)
      throw new Error(`skaffold.yaml document ${index}: ${doc.errors.join('; ')}`);
    return doc.toJS() as SkaffoldConfig;
  });
}

let validator: ValidateFunction | undefined;

/** Skaffold's own schema (draft-07) with its editor-only annotations declared as vocabulary. */
export function skaffoldSchemaValidator(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(
      readFileSync(join(deployTestsRoot, 'schemas', 'skaffold-v4beta14.json'), 'utf8'),
    ) as Record<string, unknown>;
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictTypes: false,
      allowUnionTypes: true,
    });
    ajv.addVocabulary([
      'preferredOrder',
      'x-intellij-html-description',
      'x-intellij-enum-metadata',
    ]);
    validator = ajv.compile(schema);
  }
  return validator;
}

export function schemaErrors(config: unknown): string[] {
  const validate = skaffoldSchemaValidator();
  return validate(config)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** The config as Skaffold sees it with one profile applied (JSON patches, profiles dropped). */
export function withProfile(config: SkaffoldConfig, profileName: string): SkaffoldConfig {
  const profile = config.profiles?.find((p) => p.name === profileName);
  if (!profile) throw new Error(`config ${config.metadata?.name} has no profile ${profileName}`);
  const { profiles: _profiles, ...base } = structuredClone(config) as Record<string, unknown>;
  // Skaffold lays a profile's sections onto the config field by field (a field the profile sets
  // replaces the config's), then applies the profile's JSON patches.
  for (const section of PROFILE_SECTIONS) {
    const value = (profile as unknown as Record<string, unknown>)[section];
    if (value === undefined) continue;
    const current = base[section];
    base[section] =
      isObject(current) && isObject(value)
        ? { ...current, ...structuredClone(value) }
        : structuredClone(value);
  }
  const patched = fastJsonPatch.applyPatch(base, profile.patches ?? [], true, false).newDocument;
  return patched as SkaffoldConfig;
}

const PROFILE_SECTIONS = [
  'build',
  'test',
  'manifests',
  'deploy',
  'portForward',
  'resourceSelector',
  'verify',
  'customActions',
];
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function configNamed(configs: SkaffoldConfig[], name: string): SkaffoldConfig {
  const config = configs.find((c) => c.metadata?.name === name);
  if (!config) throw new Error(`skaffold.yaml has no config named ${name}`);
  return config;
}
