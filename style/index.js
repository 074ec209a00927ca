import './base.css';
import './attachments.css';
