"""crsurvey survey layer: likelihood, samplers, Ray agents, result store and CLI."""
