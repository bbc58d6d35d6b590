-- A document's tags are copied into document_tags by the database, from the `tags` JSON column,
-- so storing a document is one statement (one round trip) instead of a five-statement
-- transaction. The statement's own transaction covers the trigger. Same as SQLite's 0003.
CREATE FUNCTION documents_sync_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM document_tags WHERE document_id = NEW.id;
    END IF;
    INSERT INTO document_tags (document_id, tag)
        SELECT DISTINCT NEW.id, tag FROM jsonb_array_elements_text(CAST(NEW.tags AS JSONB)) AS tag;
    RETURN NULL;
END
$$;
CREATE TRIGGER documents_sync_tags AFTER INSERT OR UPDATE OF tags ON documents
    FOR EACH ROW EXECUTE FUNCTION documents_sync_tags();
