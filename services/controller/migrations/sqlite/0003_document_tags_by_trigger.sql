-- A document's tags are copied into document_tags by the database, from the `tags` JSON column,
-- so storing a document is one statement: with sqlx every statement is a round trip to the
-- connection's own thread and back, and the upsert was five (begin, insert, delete the old
-- tags, insert the new ones, commit). The statement's implicit transaction covers the trigger.
CREATE TRIGGER documents_tags_after_insert AFTER INSERT ON documents BEGIN
    INSERT INTO document_tags (document_id, tag) SELECT DISTINCT NEW.id, value FROM json_each(NEW.tags);
END;
CREATE TRIGGER documents_tags_after_update AFTER UPDATE OF tags ON documents BEGIN
    DELETE FROM document_tags WHERE document_id = NEW.id;
    INSERT INTO document_tags (document_id, tag) SELECT DISTINCT NEW.id, value FROM json_each(NEW.tags);
END;
