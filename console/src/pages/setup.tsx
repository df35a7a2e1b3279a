import { api } from '../api.js';
import { when } from '../format.js';
import { useLoad } from '../hooks.js';

interface Template {
  TemplateId: number;
  TemplateName: string;
  Description: string;
  HlsParam: { Enable: number; RecordInterval: number; StorageTime: number };
  Mp4Param: { Enable: number; RecordInterval: number; StorageTime: number };
  FlvParam: { Enable: number; RecordInterval: number; StorageTime: number };
  AacParam: { Enable: number; RecordInterval: number; StorageTime: number };
}
interface Rule {
  DomainName: string;
  AppName: string;
  StreamName: string;
  TemplateId: number;
}
interface Task {
  taskId: string;
  appName: string;
  streamName: string;
  startTime: string;
  endTime: string;
  state: string;
}
interface Mix {
  sessionId?: string;
  [field: string]: unknown;
}

const formats = (t: Template) =>
  (['Hls', 'Mp4', 'Flv', 'Aac'] as const).filter((f) => t[`${f}Param`]?.Enable).join(', ') || 'none';

export function Setup() {
  const templates = useLoad(() => api<{ templates: Template[] }>('/api/templates'), []);
  const rules = useLoad(() => api<{ rules: Rule[] }>('/api/rules'), []);
  const tasks = useLoad(() => api<{ tasks: Task[] }>('/api/tasks'), []);
  const mixes = useLoad(() => api<{ mixes: Mix[] }>('/api/mixes'), []);
  return (
    <section aria-labelledby="setup-title">
      <h2 id="setup-title">Templates, rules, tasks and mixes</h2>
      <p class="hint">Read-only here; the Tencent API actions change them.</p>
      <h3>Recording templates</h3>
      {templates.value?.templates.length ? (
        <ul class="plain">
          {templates.value.templates.map((t) => (
            <li key={t.TemplateId}>
              <strong>{t.TemplateId}</strong> {t.TemplateName} · {formats(t)}
              {t.Description && <> · {t.Description}</>}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">None: the config's record section applies.</p>
      )}
      <h3>Rules</h3>
      {rules.value?.rules.length ? (
        <ul class="plain">
          {rules.value.rules.map((r) => (
            <li key={`${r.DomainName}/${r.AppName}/${r.StreamName}`}>
              {r.DomainName || '*'} / {r.AppName || '*'} / {r.StreamName || '*'} → template {r.TemplateId}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">None.</p>
      )}
      <h3>Tasks</h3>
      {tasks.value?.tasks.length ? (
        <ul class="plain">
          {tasks.value.tasks.map((t) => (
            <li key={t.taskId}>
              {t.appName}/{t.streamName}: {when(t.startTime)} – {when(t.endTime)} · {t.state}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">None.</p>
      )}
      <h3>Mixes</h3>
      {mixes.value?.mixes.length ? (
        <ul class="plain">
          {mixes.value.mixes.map((m, i) => (
            <li key={m.sessionId ?? i}>
              <code>{JSON.stringify(m)}</code>
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">None open.</p>
      )}
    </section>
  );
}
