"""Turn geo/ results into Folium layers."""
