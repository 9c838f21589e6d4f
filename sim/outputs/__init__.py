"""What a run leaves behind: result files, figures and the HTML report (reads the analysis layer)."""
