"""The tool registry: tools.yaml, Python plugins and entry points -> ToolSpecs the loop can offer and run."""
