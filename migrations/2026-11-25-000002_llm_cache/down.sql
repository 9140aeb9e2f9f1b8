DROP TABLE llm_cache;
