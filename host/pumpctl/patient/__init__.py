"""Virtual patients (UVA/Padova, simglucose 0.2.11) and their co-simulation with the firmware."""
