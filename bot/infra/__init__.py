"""Infrastructure: settings from the environment, the database, migrations, logs."""
