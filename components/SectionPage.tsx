// Generic list + add/edit page for one config section (uplinks, lan, services, ...).
import Link from 'next/link';
import { latestRevision } from '@/lib/web/data';
import { SECTIONS, sectionItems, type SectionKey, type FieldSpec } from '@/lib/web/sections';
import { itemValues } from '@/lib/web/forms';
import { saveItem } from '@/lib/web/actions/items';
import { ItemForm } from './ItemForm';
import { Notice } from './Notice';
import { EnableToggle, EditDelete } from './RowActions';

export interface SectionSearch {
  edit?: string;
  add?: string;
  saved?: string;
  error?: string;
}

function show(v: unknown): string {
  if (v === undefined || v === null || v === '') return '–';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return '…';
  return String(v);
}

function getPath(o: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
}

export async function SectionPage({
  section,
  search,
  intro,
  empty,
  columns,
}: {
  section: SectionKey;
  search: SectionSearch;
  intro: React.ReactNode;
  empty: React.ReactNode;
  /** Field names to show as columns (default: ungrouped non-checkbox fields). */
  columns?: string[];
}) {
  const spec = SECTIONS[section];
  const rev = await latestRevision();
  const config = rev?.config;
  const base = rev?.id ?? null;
  const list = sectionItems(config, section);
  const uplinkNames = (config?.uplinks ?? []).map((u) => u.name);
  const editing = search.edit ? list.find((x) => x.name === search.edit) ?? null : null;
  const showForm = !!editing || search.add !== undefined;
  const cols: FieldSpec[] = columns
    ? columns.map((c) => spec.fields.find((f) => f.name === c)!).filter(Boolean)
    : spec.fields.filter((f) => !f.group && f.kind !== 'checkbox' && f.kind !== 'textarea' && f.name !== 'name');
  const hasEnabled = spec.fields.some((f) => f.name === 'enabled');
  return (
    <>
      <header className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h1 className="h1">{spec.title}</h1>
          <div className="mt-1 max-w-3xl text-sm muted">{intro}</div>
        </div>
        {!showForm && (
          <Link href={`${spec.path}?add=1`} className="btn btn-primary">Add {spec.singular}</Link>
        )}
      </header>
      <Notice saved={search.saved} error={search.error} />
      {search.edit && !editing && <Notice error={`${spec.singular} "${search.edit}" not found`} />}
      {showForm && (
        <ItemForm
          key={editing?.name ?? '(new)'}
          section={section}
          action={saveItem}
          values={itemValues(spec, editing)}
          editing={editing?.name ?? null}
          uplinkNames={uplinkNames}
          baseRevision={base}
        />
      )}
      {list.length === 0 ? (
        <div className="card text-sm muted" data-testid="empty-state">{empty}</div>
      ) : (
        <div className="card overflow-x-auto p-0">
          <table className="table" data-testid={`${section}-table`}>
            <caption className="sr-only">{spec.title}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                {cols.map((c) => <th key={c.name} scope="col">{c.label}</th>)}
                {hasEnabled && <th scope="col">State</th>}
                <th scope="col" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {list.map((it) => (
                <tr key={it.name} data-name={it.name}>
                  <td className="font-medium">{it.name}</td>
                  {cols.map((c) => <td key={c.name} className="font-mono text-xs">{show(getPath(it, c.name))}</td>)}
                  {hasEnabled && (
                    <td><EnableToggle section={section} name={it.name} enabled={it.enabled !== false} baseRevision={base} /></td>
                  )}
                  <td className="text-right"><EditDelete section={section} path={spec.path} name={it.name} baseRevision={base} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
