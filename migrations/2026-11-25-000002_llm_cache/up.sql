-- LLM answers by sha256 of (provider, model, system, rendered prompt): a re-run over the same
-- inputs makes no calls and costs nothing.
CREATE TABLE llm_cache (
    request_sha256 TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    response_text TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
