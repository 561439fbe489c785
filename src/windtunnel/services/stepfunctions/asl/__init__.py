"""The Amazon States Language: definitions, data flow, query languages and execution."""
