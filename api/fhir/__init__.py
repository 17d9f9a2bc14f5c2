"""FHIR R4 (S10): Prolo's rows as FHIR resources, for EHR integration."""
