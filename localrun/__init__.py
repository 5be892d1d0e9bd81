"""Running chatconsent on this machine: the template's tables and routes on the embedded backend."""
