-- Filtering a project's spans by status, kind or name (the REST filters, the span query DSL's
-- `status_code == 'ERROR'`, the UI's filters) reads only the matching spans instead of every span
-- of the project. Ids ascend within each (project, value), so ingest appends to these indexes.
CREATE INDEX spans_project_status ON spans (project_id, status_code, id);
CREATE INDEX spans_project_kind ON spans (project_id, span_kind, id);
CREATE INDEX spans_project_name ON spans (project_id, name, id);
